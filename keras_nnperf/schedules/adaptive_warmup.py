"""A warm-up driven by a progress variable that a gradient hook advances on stable steps."""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number


@register("schedule")
class AdaptiveWarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Warm-up driven by a progress variable: `lr(t) = init + (schedule(t) - init) * min(p/w, 1)`.

    `p` (a non-trainable variable, `self.progress`) is advanced only on stable steps; once
    `p >= w` this is exactly `schedule(t)`. `WarmUp(kind="gradient")` now drives the same ramp
    through `ComposedLearningRate`; this schedule stays so that models saved with it still load.

    Args:
        schedule: The schedule to warm up.
        warmup_steps: `w`, the number of stable steps the ramp needs, > 0.
        init_learning_rate: The rate at `p = 0`, >= 0.
        progress: Initial value of `p`.

    Raises:
        ValueError: for a non-schedule, `warmup_steps <= 0`, or a negative rate or progress.

    Example:
    ```python
    schedule = AdaptiveWarmUp(keras_nnperf.schedules.Constant(1e-3), warmup_steps=100)
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """

    def __init__(self, schedule, warmup_steps: int, init_learning_rate: float = 0.0, progress=0.0):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                f"Argument schedule must be a LearningRateSchedule. Received: schedule={schedule!r}"
            )
        warmup_steps = check_integer("warmup_steps", warmup_steps, low=1)
        init_learning_rate = check_number("init_learning_rate", init_learning_rate, low=0.0)
        progress = check_number("progress", progress, low=0.0)
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.init_learning_rate = float(init_learning_rate)
        self.progress = keras.Variable(
            float(progress),
            dtype="float32",
            trainable=False,
            name="warmup_progress",
            aggregation="only_first_replica",
        )

    def __call__(self, step):
        target = ops.cast(self.schedule(step), "float32")
        fraction = ops.minimum(ops.cast(self.progress, "float32") / self.warmup_steps, 1.0)
        return self.init_learning_rate + (target - self.init_learning_rate) * fraction

    def is_warming_up(self) -> bool:
        """True until `warmup_steps` stable steps were seen (one host read)."""
        return float(ops.convert_to_numpy(self.progress)) < self.warmup_steps

    def get_config(self):
        return {
            "schedule": keras.optimizers.schedules.serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "init_learning_rate": self.init_learning_rate,
            "progress": float(ops.convert_to_numpy(self.progress)),
        }
