"""The simplest schedules: constant, linear ramp, piecewise constant.

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; Keras reads the learning rate before it increments `iterations`, so the
k-th update (k = 0, 1, ...) uses `schedule(k)`. Past their end, schedules hold their final value.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.schedules._validation import (
    check_boundaries,
    check_learning_rate,
    check_steps,
)


def constant(step, learning_rate):
    """`lr(t) = learning_rate` at every step, as a float32 tensor shaped like `step`.

    Args:
        step: The optimizer's `iterations` (0-based), a scalar or array.
        learning_rate: The value.

    Returns:
        A float32 tensor.
    """
    step = ops.cast(step, "float32")
    return ops.zeros_like(step) + ops.cast(learning_rate, "float32")


def linear(step, initial_learning_rate, final_learning_rate, total_steps):
    """Linear interpolation from `initial` at step 0 to `final` at `total_steps`, then hold.

    `lr(t) = lr0 + (lr1 - lr0) * min(t, T) / T`.

    Args:
        step: The optimizer's `iterations` (0-based).
        initial_learning_rate: `lr0`, the value at step 0.
        final_learning_rate: `lr1`, the value at and after `total_steps`.
        total_steps: `T`.

    Returns:
        A float32 tensor.
    """
    step = ops.cast(step, "float32")
    # Clip after dividing: XLA turns `x / s` into `x * (1 / s)`, which can overshoot 1.
    fraction = ops.clip(step / total_steps, 0.0, 1.0)
    # A weighted sum is exact at both ends (`lr0 + (lr1 - lr0) * 1` can round below zero).
    return initial_learning_rate * (1.0 - fraction) + final_learning_rate * fraction


def piecewise_constant(step, boundaries, values):
    """`values[i]` for `boundaries[i-1] <= t < boundaries[i]`.

    The value changes *at* a boundary step: `values[1]` is used from step `boundaries[0]` on (the
    same rule as `join`; Keras's `PiecewiseConstantDecay` switches one step later).

    Args:
        step: The optimizer's `iterations` (0-based).
        boundaries: Strictly increasing step counts.
        values: One more value than boundaries.

    Returns:
        A float32 tensor.
    """
    step = ops.cast(step, "float32")
    learning_rate = constant(step, values[0])
    # A static Python loop over the boundaries: one `where` per boundary, no data-dependent branch.
    for boundary, value in zip(boundaries, values[1:], strict=True):
        learning_rate = ops.where(step >= boundary, ops.cast(value, "float32"), learning_rate)
    return learning_rate


@register("schedule")
class Constant(keras.optimizers.schedules.LearningRateSchedule):
    """A constant learning rate as a schedule (to be joined or warmed up like any other).

    `lr(t) = learning_rate`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        learning_rate: The value, >= 0.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: if `learning_rate` is negative or not a number.

    Example:
    ```python
    schedule = WarmUp(Constant(1e-3), warmup_steps=100)
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD" (a constant rate after warm-up).
    """

    def __init__(self, learning_rate: float):
        self.learning_rate = check_learning_rate("learning_rate", learning_rate)

    def __call__(self, step):
        return constant(step, self.learning_rate)

    def get_config(self):
        return {"learning_rate": self.learning_rate}


@register("schedule")
class Linear(keras.optimizers.schedules.LearningRateSchedule):
    """Linear interpolation between two learning rates over `total_steps`, then hold.

    `lr(t) = lr0 + (lr1 - lr0) * min(t, T) / T`: `lr0` at step 0, `lr1` from step `T` on.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        initial_learning_rate: `lr0`, >= 0.
        final_learning_rate: `lr1`, >= 0 (may be larger than `lr0`: a linear ramp up).
        total_steps: `T`, an integer > 0.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a negative learning rate or `total_steps <= 0`.

    Example:
    ```python
    optimizer = keras.optimizers.SGD(learning_rate=Linear(0.1, 0.0, total_steps=1000))
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """

    def __init__(self, initial_learning_rate: float, final_learning_rate: float, total_steps: int):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.final_learning_rate = check_learning_rate("final_learning_rate", final_learning_rate)
        self.total_steps = check_steps("total_steps", total_steps)

    def __call__(self, step):
        return linear(
            step, self.initial_learning_rate, self.final_learning_rate, float(self.total_steps)
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "final_learning_rate": self.final_learning_rate,
            "total_steps": self.total_steps,
        }


@register("schedule")
class PiecewiseConstant(keras.optimizers.schedules.LearningRateSchedule):
    """Step decay: a fixed learning rate between boundary steps.

    `lr(t) = values[i]` for `boundaries[i-1] <= t < boundaries[i]` (with `boundaries[-1] = 0`
    and `boundaries[n] = inf`). The value changes *at* the boundary step, as in `join`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        boundaries: Strictly increasing integer steps, each > 0.
        values: Learning rates (>= 0), exactly `len(boundaries) + 1` of them.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: if the lengths do not match, boundaries are not strictly increasing positive
            integers, or a value is negative.

    Example:
    ```python
    schedule = PiecewiseConstant(boundaries=[1000, 2000], values=[0.1, 0.01, 0.001])
    ```

    Reference:
        He et al., 2016, "Deep Residual Learning for Image Recognition" (divide by 10 at fixed
        steps).
    """

    def __init__(self, boundaries, values):
        self.boundaries = check_boundaries("boundaries", boundaries)
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ValueError(f"Argument values must be a list. Received: values={values!r}")
        self.values = [check_learning_rate("values", value) for value in values]
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                "Argument values must have exactly one more element than boundaries. "
                f"Received: boundaries={boundaries!r}, values={values!r}"
            )

    def __call__(self, step):
        return piecewise_constant(step, self.boundaries, self.values)

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}
