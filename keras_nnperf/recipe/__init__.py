"""The recipe behind `nnperf fit`: the default network, the training recipe, metrics, the report.

| module | holds |
|---|---|
| `model` | `build_model` (Mish MLP started at the trivial baseline), `compile_for_task` |
| `training` | `choose_learning_rate` (`--lr` or the LR range test), `train_with_recipe` |
| `metrics` | validation metrics and the baselines' (trivial, linear) on the same split |
| `report_text` | the Markdown sections of the report |
| `predict` | `predict_csv`, `write_demo_csv` |
| `fit` | `train_tabular`, the whole flow, and the `lr-find` and `diagnose` commands' runs |
"""
