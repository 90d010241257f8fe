"""Former home of the learning-rate plumbing; kept so that old imports keep working.

The pieces now live in modules named for what they do:

* `keras_nnperf.callbacks.hyperparameters`: read, log, replace and restore the learning rate and
  momentum (`current_learning_rate`, `learning_rate_as_schedule`, `momentum_attribute`,
  `ScheduledHyperparameter`, `log_hyperparameters`);
* `keras_nnperf.callbacks.learning_rate_slots`: the one composed learning rate the callbacks share;
* `keras_nnperf.callbacks.copy_by_config`: `CopyByConfig`;
* `keras_nnperf.schedules.step_offset` and `keras_nnperf.schedules.scaled`: `StepOffset`,
  `ScaledSchedule`.
"""

from keras_nnperf.callbacks.copy_by_config import CopyByConfig
from keras_nnperf.callbacks.hyperparameters import (
    ScheduledHyperparameter,
    current_learning_rate,
    learning_rate_as_schedule,
    log_hyperparameters,
    momentum_attribute,
)
from keras_nnperf.schedules.scaled import ScaledSchedule
from keras_nnperf.schedules.step_offset import StepOffset

__all__ = [
    "CopyByConfig",
    "ScaledSchedule",
    "ScheduledHyperparameter",
    "StepOffset",
    "current_learning_rate",
    "learning_rate_as_schedule",
    "log_hyperparameters",
    "momentum_attribute",
]
