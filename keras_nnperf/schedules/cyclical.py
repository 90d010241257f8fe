"""Cyclical learning rates (CLR): a triangle wave between two bounds.

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; the k-th update uses `schedule(k)`. A cyclical schedule has no end.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.schedules._validation import (
    check_choice,
    check_learning_rate,
    check_number,
    check_steps,
)

TRIANGULAR_MODES = ("triangular", "triangular2", "exp_range")


def triangular(
    step, base_learning_rate, max_learning_rate, step_size, mode="triangular", gamma=1.0
):
    """The CLR triangle wave.

    `cycle = floor(1 + t / (2 s))`, `x = |t / s - 2 cycle + 1|`,
    `lr = base + (max - base) * max(0, 1 - x) * scale`, where `scale` is 1 (`"triangular"`),
    `1 / 2 ** (cycle - 1)` (`"triangular2"`) or `gamma ** t` (`"exp_range"`).

    Args:
        step: The optimizer's `iterations` (0-based).
        base_learning_rate: `base`, the value at the start of every cycle.
        max_learning_rate: `max`, reached at the middle of the first cycle.
        step_size: `s`, half a cycle in steps.
        mode: One of `"triangular"`, `"triangular2"`, `"exp_range"`.
        gamma: The per-step factor of `"exp_range"`.

    Returns:
        A float32 tensor.
    """
    step = ops.cast(step, "float32")
    cycle = ops.floor(1.0 + step / (2.0 * step_size))
    x = ops.abs(step / step_size - 2.0 * cycle + 1.0)
    if mode == "triangular2":
        scale = 1.0 / ops.power(2.0, cycle - 1.0)
    elif mode == "exp_range":
        scale = ops.power(ops.cast(gamma, "float32"), step)
    else:
        scale = 1.0
    amplitude = (max_learning_rate - base_learning_rate) * ops.maximum(0.0, 1.0 - x)
    return base_learning_rate + amplitude * scale


@register("schedule")
class Triangular(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate (CLR): a triangle wave between `base` and `max`.

    `cycle = floor(1 + t / (2 s))`, `x = |t / s - 2 cycle + 1|`,
    `lr(t) = base + (max - base) * max(0, 1 - x) * scale(t)`, with `scale = 1` (`"triangular"`),
    `1 / 2 ** (cycle - 1)` (`"triangular2"`: the amplitude halves every cycle) or `gamma ** t`
    (`"exp_range"`). The rate is `base` at steps `0, 2s, 4s, ...` and peaks at `s, 3s, ...`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`). Smith
    suggests a `step_size` of 2 to 10 epochs' worth of steps, and bounds from an LR range test.

    Args:
        base_learning_rate: `base`, >= 0.
        max_learning_rate: `max`, >= `base_learning_rate`.
        step_size: `s`, half a cycle, an integer > 0.
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`. Defaults to `"triangular"`.
        gamma: Per-step factor of `"exp_range"`, in (0, 1]. Defaults to 1.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a negative rate, `max < base`, `step_size <= 0`, an unknown `mode`, or
            `gamma` outside (0, 1].

    Example:
    ```python
    schedule = Triangular(1e-4, 1e-2, step_size=4 * steps_per_epoch, mode="triangular2")
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    ```

    Reference:
        Smith, 2017, "Cyclical Learning Rates for Training Neural Networks".
    """

    def __init__(
        self,
        base_learning_rate: float,
        max_learning_rate: float,
        step_size: int,
        mode: str = "triangular",
        gamma: float = 1.0,
    ):
        self.base_learning_rate = check_learning_rate("base_learning_rate", base_learning_rate)
        self.max_learning_rate = check_learning_rate("max_learning_rate", max_learning_rate)
        if self.max_learning_rate < self.base_learning_rate:
            raise ValueError(
                "Argument max_learning_rate must be >= base_learning_rate. "
                f"Received: max_learning_rate={max_learning_rate!r}, "
                f"base_learning_rate={base_learning_rate!r}"
            )
        self.step_size = check_steps("step_size", step_size)
        self.mode = check_choice("mode", mode, TRIANGULAR_MODES)
        self.gamma = check_number("gamma", gamma, low=0.0, low_open=True, high=1.0)

    def __call__(self, step):
        return triangular(
            step,
            self.base_learning_rate,
            self.max_learning_rate,
            float(self.step_size),
            self.mode,
            self.gamma,
        )

    def get_config(self):
        return {
            "base_learning_rate": self.base_learning_rate,
            "max_learning_rate": self.max_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
        }
