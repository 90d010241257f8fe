"""Cosine annealing, once (`CosineDecay`) or with warm restarts (`CosineRestarts`, SGDR).

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; the k-th update uses `schedule(k)`. `CosineDecay` reaches its floor at
`decay_steps` and holds it; `CosineRestarts` restarts forever.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.schedules._validation import check_learning_rate, check_number, check_steps


def cosine_decay(step, initial_learning_rate, decay_steps, alpha=0.0):
    """`lr(t) = lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(t, s) / s)) + alpha)`.

    Args:
        step: The optimizer's `iterations` (0-based).
        initial_learning_rate: `lr0`.
        decay_steps: `s`, the step at which the floor `alpha * lr0` is reached.
        alpha: The floor as a fraction of `lr0`.

    Returns:
        A float32 tensor.
    """
    # Clip after dividing: XLA turns `x / s` into `x * (1 / s)`, which can overshoot 1.
    fraction = ops.clip(ops.cast(step, "float32") / decay_steps, 0.0, 1.0)
    cosine = 0.5 * (1.0 + ops.cos(math.pi * fraction))
    return initial_learning_rate * ((1.0 - alpha) * cosine + alpha)


def cosine_restarts(
    step, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0
):
    """Cosine annealing with warm restarts (SGDR).

    Cycle `i` lasts `s * t_mul ** i` steps and starts at `lr0 * m_mul ** i`; inside a cycle, at
    fraction `f` of it, `lr = lr0 * ((1 - alpha) * m_mul ** i * 0.5 * (1 + cos(pi * f)) + alpha)`.

    Args:
        step: The optimizer's `iterations` (0-based).
        initial_learning_rate: `lr0`.
        first_decay_steps: `s`, the length of the first cycle.
        t_mul: Growth factor of the cycle length.
        m_mul: Factor applied to the peak at every restart.
        alpha: The floor as a fraction of `lr0`.

    Returns:
        A float32 tensor.
    """
    progress = ops.cast(step, "float32") / first_decay_steps  # in units of the first cycle
    if t_mul == 1.0:
        cycle = ops.floor(progress)
        start = cycle
        length = ops.ones_like(progress)
    else:
        # Cycle i starts at (1 - t_mul**i) / (1 - t_mul) first-cycle units; invert that sum.
        cycle = ops.floor(ops.log(1.0 - progress * (1.0 - t_mul)) / math.log(t_mul))

        def cycle_length(i):
            # A vectorized float32 pow is not exact (3 ** 4 gave 81.0000076, moving the restart
            # at step 40 by one step in `evaluate` but not in a scalar call). For an integral
            # t_mul the powers are integers: rounding makes them exact (below 2 ** 24).
            power = ops.power(t_mul, i)
            return ops.round(power) if float(t_mul).is_integer() else power

        def cycle_start(i):
            return (1.0 - cycle_length(i)) / (1.0 - t_mul)

        # The log can land a hair below an integer exactly at a restart; correct by one either way.
        cycle = ops.where(cycle_start(cycle + 1.0) <= progress, cycle + 1.0, cycle)
        cycle = ops.where(cycle_start(cycle) > progress, cycle - 1.0, cycle)
        start = cycle_start(cycle)
        length = cycle_length(cycle)
    fraction = ops.clip((progress - start) / length, 0.0, 1.0)
    cosine = 0.5 * ops.power(m_mul, cycle) * (1.0 + ops.cos(math.pi * fraction))
    return initial_learning_rate * ((1.0 - alpha) * cosine + alpha)


@register("schedule")
class CosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine annealing from `lr0` to `alpha * lr0` over `decay_steps`, then hold.

    `lr(t) = lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(t, s) / s)) + alpha)`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`). Combine
    it with `WarmUp` for the usual warm-up-then-cosine recipe (or use `warmup_cosine`).

    Args:
        initial_learning_rate: `lr0`, >= 0.
        decay_steps: `s`, an integer > 0.
        alpha: The floor as a fraction of `lr0`, in [0, 1]. Defaults to 0.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a negative rate, `decay_steps <= 0` or `alpha` outside [0, 1].

    Example:
    ```python
    optimizer = keras.optimizers.Adam(learning_rate=CosineDecay(1e-3, decay_steps=10_000))
    ```

    Reference:
        Loshchilov & Hutter, 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts".
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.alpha = check_number("alpha", alpha, low=0.0, high=1.0)

    def __call__(self, step):
        return cosine_decay(step, self.initial_learning_rate, float(self.decay_steps), self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
        }


@register("schedule")
class CosineRestarts(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine annealing with warm restarts (SGDR): cosine cycles that grow by `t_mul`.

    Cycle `i = 0, 1, ...` starts at step `s * (1 - t_mul ** i) / (1 - t_mul)` (`s * i` when
    `t_mul = 1`), lasts `s * t_mul ** i` steps, and at fraction `f` of it
    `lr = lr0 * ((1 - alpha) * m_mul ** i * 0.5 * (1 + cos(pi * f)) + alpha)`.
    At each restart step the rate jumps back to `lr0 * m_mul ** i` (blended with the floor).

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`). The
    schedule has no end: it keeps restarting.

    Args:
        initial_learning_rate: `lr0`, >= 0.
        first_decay_steps: `s`, the length of the first cycle, an integer > 0.
        t_mul: Cycle length factor, >= 1 (shorter and shorter cycles would end the schedule after
            `s / (1 - t_mul)` steps). Defaults to 2.
        m_mul: Peak factor per restart, > 0. Defaults to 1.
        alpha: The floor as a fraction of `lr0`, in [0, 1]. Defaults to 0.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a negative rate, `first_decay_steps <= 0`, `t_mul < 1`, `m_mul <= 0` or
            `alpha` outside [0, 1].

    Example:
    ```python
    schedule = CosineRestarts(1e-2, first_decay_steps=500, t_mul=2.0, m_mul=0.8)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    ```

    Reference:
        Loshchilov & Hutter, 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts".
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.first_decay_steps = check_steps("first_decay_steps", first_decay_steps)
        # With t_mul < 1 the cycles shrink geometrically and end after s / (1 - t_mul) steps.
        self.t_mul = check_number("t_mul", t_mul, low=1.0)
        self.m_mul = check_number("m_mul", m_mul, low=0.0, low_open=True)
        self.alpha = check_number("alpha", alpha, low=0.0, high=1.0)

    def __call__(self, step):
        return cosine_restarts(
            step,
            self.initial_learning_rate,
            float(self.first_decay_steps),
            self.t_mul,
            self.m_mul,
            self.alpha,
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
        }
