"""A schedule evaluated on a shifted clock, to start a curve at any step."""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer

Schedule = keras.optimizers.schedules.LearningRateSchedule


@register("schedule")
class StepOffset(Schedule):
    """Evaluate a schedule on a shifted clock: `lr(t) = schedule(max(t + offset, 0))`.

    The callbacks use it to start a warm-up or a cycle at the optimizer's current `iterations`
    (a second `fit`, fine-tuning) while keeping every schedule a pure function of the step.

    Args:
        schedule: The schedule to shift.
        offset: Integer added to the step before evaluating `schedule`.

    Raises:
        ValueError: if `schedule` is not a `LearningRateSchedule` or `offset` is not an integer.

    Example:
    ```python
    starts_at_500 = StepOffset(keras_nnperf.schedules.CosineDecay(1e-3, 1000), offset=-500)
    ```

    Reference:
        Smith, 2018, "A disciplined approach to neural network hyper-parameters" (a cycle spans
        the steps of one run, wherever it starts).
    """

    def __init__(self, schedule, offset: int):
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        if not isinstance(schedule, Schedule):
            raise ValueError(
                f"Argument schedule must be a LearningRateSchedule. Received: schedule={schedule!r}"
            )
        offset = check_integer("offset", offset)
        self.schedule = schedule
        self.offset = int(offset)

    def __call__(self, step):
        shifted = ops.maximum(ops.cast(step, "float32") + float(self.offset), 0.0)
        return self.schedule(shifted)

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "offset": self.offset,
        }
