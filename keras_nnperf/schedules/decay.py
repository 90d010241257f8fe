"""Monotone decays: exponential, power (inverse time) and polynomial.

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; the k-th update uses `schedule(k)`. Polynomial decay holds its end value
after `decay_steps`; exponential and power decay keep decaying (they have no end).
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.schedules._validation import check_learning_rate, check_number, check_steps


def exponential_decay(step, initial_learning_rate, decay_steps, decay_rate=0.1, staircase=False):
    """`lr(t) = lr0 * decay_rate ** (t / s)` (with `floor(t / s)` when `staircase`).

    Args:
        step: The optimizer's `iterations` (0-based).
        initial_learning_rate: `lr0`.
        decay_steps: `s`, the steps over which the rate is multiplied by `decay_rate`.
        decay_rate: The factor per `decay_steps`.
        staircase: Decay in whole steps of `decay_steps` instead of continuously.

    Returns:
        A float32 tensor.
    """
    exponent = ops.cast(step, "float32") / decay_steps
    if staircase:
        exponent = ops.floor(exponent)
    return initial_learning_rate * ops.power(ops.cast(decay_rate, "float32"), exponent)


def power_decay(step, initial_learning_rate, decay_steps, power=1.0):
    """`lr(t) = lr0 / (1 + t / s) ** c` (inverse-time decay for `c = 1`).

    Args:
        step: The optimizer's `iterations` (0-based).
        initial_learning_rate: `lr0`.
        decay_steps: `s`, the step at which the rate is `lr0 / 2 ** c`.
        power: `c`.

    Returns:
        A float32 tensor.
    """
    step = ops.cast(step, "float32")
    return initial_learning_rate / ops.power(1.0 + step / decay_steps, power)


def polynomial_decay(step, initial_learning_rate, decay_steps, end_learning_rate=0.0, power=1.0):
    """`lr(t) = (lr0 - lr_end) * (1 - min(t, s) / s) ** p + lr_end`, then hold `lr_end`.

    Args:
        step: The optimizer's `iterations` (0-based).
        initial_learning_rate: `lr0`.
        decay_steps: `s`, the step from which `lr_end` is held.
        end_learning_rate: `lr_end`.
        power: `p`.

    Returns:
        A float32 tensor.
    """
    # Clip after dividing: XLA turns `x / s` into `x * (1 / s)`, which can overshoot 1 (a
    # negative base to a fractional power is NaN).
    remaining = 1.0 - ops.clip(ops.cast(step, "float32") / decay_steps, 0.0, 1.0)
    return (initial_learning_rate - end_learning_rate) * ops.power(
        remaining, power
    ) + end_learning_rate


@register("schedule")
class ExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Exponential decay: the rate is multiplied by `decay_rate` every `decay_steps` steps.

    `lr(t) = lr0 * decay_rate ** (t / s)`, or `lr0 * decay_rate ** floor(t / s)` with
    `staircase=True`. With the default `decay_rate=0.1` the rate falls tenfold every `s` steps.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        initial_learning_rate: `lr0`, >= 0.
        decay_steps: `s`, an integer > 0.
        decay_rate: The factor per `decay_steps`, > 0. Defaults to 0.1. A factor > 1 grows the
            rate exponentially (the sweep of an LR range test).
        staircase: Decay in whole steps of `decay_steps`. Defaults to `False`.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a negative rate, `decay_steps <= 0`, or `decay_rate <= 0`.

    Example:
    ```python
    optimizer = keras.optimizers.SGD(learning_rate=ExponentialDecay(0.1, decay_steps=5000))
    ```

    Reference:
        Géron, 2019, "Hands-On Machine Learning", ch. 11 (exponential scheduling
        `lr0 * 0.1 ** (t / s)`).
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float = 0.1,
        staircase: bool = False,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.decay_rate = check_number("decay_rate", decay_rate, low=0.0, low_open=True)
        if not isinstance(staircase, bool):
            raise ValueError(
                f"Argument staircase must be a bool. Received: staircase={staircase!r}"
            )
        self.staircase = staircase

    def __call__(self, step):
        return exponential_decay(
            step,
            self.initial_learning_rate,
            float(self.decay_steps),
            self.decay_rate,
            self.staircase,
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


@register("schedule")
class PowerDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Power scheduling: a slow, never-ending decay, halving (for `c = 1`) at `decay_steps`.

    `lr(t) = lr0 / (1 + t / s) ** c`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        initial_learning_rate: `lr0`, >= 0.
        decay_steps: `s`, an integer > 0.
        power: `c`, > 0. Defaults to 1 (inverse-time decay).

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a negative rate, `decay_steps <= 0` or `power <= 0`.

    Example:
    ```python
    optimizer = keras.optimizers.SGD(learning_rate=PowerDecay(0.1, decay_steps=1000))
    ```

    Reference:
        Géron, 2019, "Hands-On Machine Learning", ch. 11 (power scheduling); Bottou, 2012,
        "Stochastic Gradient Descent Tricks".
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, power: float = 1.0):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.power = check_number("power", power, low=0.0, low_open=True)

    def __call__(self, step):
        return power_decay(step, self.initial_learning_rate, float(self.decay_steps), self.power)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "power": self.power,
        }


@register("schedule")
class PolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Polynomial decay to `end_learning_rate` at `decay_steps`, then hold it.

    `lr(t) = (lr0 - lr_end) * (1 - min(t, s) / s) ** p + lr_end`. `p = 1` is a linear decay.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        initial_learning_rate: `lr0`, >= 0.
        decay_steps: `s`, an integer > 0.
        end_learning_rate: `lr_end`, >= 0. Defaults to 0.
        power: `p`, > 0. Defaults to 1.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a negative rate, `decay_steps <= 0` or `power <= 0`.

    Example:
    ```python
    schedule = PolynomialDecay(1e-3, decay_steps=10_000, end_learning_rate=1e-5, power=2.0)
    ```

    Reference:
        Chen et al., 2017, "DeepLab" (the "poly" policy, `p = 0.9`).
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0,
        power: float = 1.0,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.end_learning_rate = check_learning_rate("end_learning_rate", end_learning_rate)
        self.power = check_number("power", power, low=0.0, low_open=True)

    def __call__(self, step):
        return polynomial_decay(
            step,
            self.initial_learning_rate,
            float(self.decay_steps),
            self.end_learning_rate,
            self.power,
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
        }
