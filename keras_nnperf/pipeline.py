"""The end-to-end recipe behind `nnperf fit`: a facade over `keras_nnperf.recipe`.

    (tune) -> diagnose -> learning rate -> train -> evaluate -> save -> report

Kept so `from keras_nnperf import pipeline` and `pipeline.train_tabular(...)` keep working; the
code lives in `keras_nnperf.recipe` (`model`, `training`, `metrics`, `report_text`, `predict`,
`fit`).
"""

from keras_nnperf.recipe.fit import (
    PipelineError,
    PipelineResult,
    diagnose_data,
    lr_range_test,
    train_tabular,
    tune_architecture,
)
from keras_nnperf.recipe.metrics import auc as _auc
from keras_nnperf.recipe.metrics import (
    baseline_metrics,
    linear_metrics,
    validation_metrics,
)
from keras_nnperf.recipe.model import build_model, compile_for_task, start_at_baseline
from keras_nnperf.recipe.predict import (
    MODEL_FILE,
    PREPROCESSING_FILE,
    predict_csv,
    write_demo_csv,
)
from keras_nnperf.recipe.training import (
    LearningRateChoice,
    TrainingRun,
    _cycle_momentum,
    choose_learning_rate,
    effective_batch_size,
    train_with_recipe,
)

__all__ = [
    "MODEL_FILE",
    "PREPROCESSING_FILE",
    "LearningRateChoice",
    "PipelineError",
    "PipelineResult",
    "TrainingRun",
    "_auc",
    "_cycle_momentum",
    "baseline_metrics",
    "build_model",
    "choose_learning_rate",
    "compile_for_task",
    "diagnose_data",
    "effective_batch_size",
    "linear_metrics",
    "lr_range_test",
    "predict_csv",
    "start_at_baseline",
    "train_tabular",
    "train_with_recipe",
    "tune_architecture",
    "validation_metrics",
    "write_demo_csv",
]
