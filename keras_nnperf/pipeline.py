"""The end-to-end recipe behind `nnperf fit`: a facade over `keras_nnperf.recipe`.

    (tune) -> diagnose -> learning rate -> train -> evaluate -> save -> report

Kept so `from keras_nnperf import pipeline` and `pipeline.train_tabular(...)` keep working; the
code lives in `keras_nnperf.recipe` (`model`, `training`, `metrics`, `report_text`, `predict`,
`ensemble`, `fit`, which also holds K-fold training: `load_folds`, `train_folds`).
"""

from keras_nnperf.recipe.ensemble import average_outputs, members_of
from keras_nnperf.recipe.fit import (
    FoldsResult,
    PipelineError,
    PipelineResult,
    diagnose_data,
    load_folds,
    lr_range_test,
    train_folds,
    train_tabular,
    tune_architecture,
)
from keras_nnperf.recipe.metrics import auc as _auc
from keras_nnperf.recipe.metrics import (
    baseline_metrics,
    linear_metrics,
    score,
    validation_metrics,
)
from keras_nnperf.recipe.model import build_model, compile_for_task, start_at_baseline
from keras_nnperf.recipe.predict import (
    FOLDS_FILE,
    MODEL_FILE,
    PREPROCESSING_FILE,
    Prediction,
    predict_csv,
    write_demo_csv,
)
from keras_nnperf.recipe.training import (
    LearningRateChoice,
    TrainingRun,
    _cycle_momentum,
    choose_learning_rate,
    default_ensemble,
    effective_batch_size,
    train_with_recipe,
)

__all__ = [
    "FOLDS_FILE",
    "MODEL_FILE",
    "PREPROCESSING_FILE",
    "FoldsResult",
    "LearningRateChoice",
    "PipelineError",
    "PipelineResult",
    "Prediction",
    "TrainingRun",
    "_auc",
    "_cycle_momentum",
    "average_outputs",
    "baseline_metrics",
    "build_model",
    "choose_learning_rate",
    "compile_for_task",
    "default_ensemble",
    "diagnose_data",
    "effective_batch_size",
    "linear_metrics",
    "load_folds",
    "lr_range_test",
    "members_of",
    "predict_csv",
    "score",
    "start_at_baseline",
    "train_folds",
    "train_tabular",
    "train_with_recipe",
    "tune_architecture",
    "validation_metrics",
    "write_demo_csv",
]
