"""A schedule times a multiplier variable, with a floor for the reductions."""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.validation import check_number

Schedule = keras.optimizers.schedules.LearningRateSchedule


@register("schedule")
class ScaledSchedule(Schedule):
    """A schedule times a multiplier variable, floored at `min_learning_rate` by the multiplier.

    `lr(t) = max(m * schedule(t), min(schedule(t), min_learning_rate))`: lowering `m` (what
    `PerformanceScheduler` does between epochs) never takes the rate below `min_learning_rate`,
    while the wrapped schedule's own decay still can.

    Args:
        schedule: The schedule to scale.
        multiplier: Initial multiplier (a float > 0); stored in a non-trainable variable
            `self.multiplier` that callbacks assign between epochs.
        min_learning_rate: The floor for reductions, >= 0.

    Raises:
        ValueError: for a non-schedule, a multiplier <= 0 or a negative `min_learning_rate`.

    Example:
    ```python
    scaled = ScaledSchedule(keras_nnperf.schedules.CosineDecay(1e-3, 1000), multiplier=1.0)
    scaled.multiplier.assign(0.5)  # halve the whole curve from the next step on
    ```

    Reference:
        Keras `ReduceLROnPlateau` (which cannot reduce a schedule; this can).
    """

    def __init__(self, schedule, multiplier: float = 1.0, min_learning_rate: float = 0.0):
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        if not isinstance(schedule, Schedule):
            raise ValueError(
                f"Argument schedule must be a LearningRateSchedule. Received: schedule={schedule!r}"
            )
        multiplier = check_number("multiplier", multiplier, low=0.0, low_open=True)
        min_learning_rate = check_number("min_learning_rate", min_learning_rate, low=0.0)
        self.schedule = schedule
        self.min_learning_rate = float(min_learning_rate)
        self.multiplier = keras.Variable(
            float(multiplier),
            dtype="float32",
            trainable=False,
            name="learning_rate_multiplier",
            aggregation="only_first_replica",
        )

    def __call__(self, step):
        base = ops.cast(self.schedule(step), "float32")
        floor = ops.minimum(base, self.min_learning_rate)
        return ops.maximum(base * ops.cast(self.multiplier, "float32"), floor)

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "multiplier": float(ops.convert_to_numpy(self.multiplier)),
            "min_learning_rate": self.min_learning_rate,
        }
