"""The learning rate our callbacks drive together: the user's rate, cycle, warm-up, multiplier.

One schedule per optimizer, with one fixed formula, so the rate that training applies does not
depend on the order of the callbacks list:

    S(t)  = cycle(t) if the cycle is on else base(t)          (OneCycle)
    W(t)  = warm-up overlay of S at t                          (WarmUp)
    lr(t) = max(m * W(t), min(W(t), min_lr))                   (PerformanceScheduler)

`base` is what the optimizer held before any callback (a float or a schedule). Every other number
the formula reads is a *parameter*: a float, or a scalar variable that a callback assigns between
steps (the callbacks use optimizer-owned variables, so every backend's compiled step reads their
current value and a new cycle or a jump costs an assignment, not a retrace). With every slot off
(the defaults below) `lr(t) = base(t)` exactly.

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; the k-th update uses `schedule(k)`.
"""

from __future__ import annotations

import math
import numbers

import keras
from keras import ops

from keras_nnperf.registry import register

Schedule = keras.optimizers.schedules.LearningRateSchedule

# Parameter name -> value that switches its slot off. Steps are absolute `iterations`.
CYCLE_PARAMETERS = {
    "cycle_on": 0.0,
    "cycle_start": 0.0,  # step of the cycle's first update
    "cycle_peak": 1.0,  # step at which the rise reaches `cycle_max`
    "cycle_fall_start": 1.0,  # step at which the fall begins (the peak, or a jump)
    "cycle_end": 2.0,  # step at which the fall reaches `cycle_floor` (held after)
    "cycle_initial": 0.0,
    "cycle_max": 0.0,
    "cycle_fall_from": 0.0,  # the rate where the fall begins (`cycle_max`, or the rate at a jump)
    "cycle_floor": 0.0,
    "cycle_cosine": 1.0,  # 1: half-cosine interpolation, 0: linear
}
WARMUP_PARAMETERS = {
    "warmup_on": 0.0,
    "warmup_start": 0.0,
    "warmup_steps": 1.0,
    "warmup_init": 0.0,  # init = warmup_init + warmup_init_fraction * target
    "warmup_init_fraction": 0.0,
    "warmup_kind": 0.0,  # 0 linear, 1 exponential, 2 gradient-adaptive
    "warmup_progress": 0.0,  # kind 2: stable steps so far
}
SCALE_PARAMETERS = {"multiplier": 1.0, "min_lr": 0.0}
MOMENTUM_PARAMETERS = {
    "momentum_user": 0.9,  # the optimizer's own value, used while the cycle is off
    "momentum_max": 0.95,
    "momentum_base": 0.85,
    "momentum_fall_from": 0.85,
}
PARAMETERS = {
    "base": 0.0,
    **CYCLE_PARAMETERS,
    **WARMUP_PARAMETERS,
    **SCALE_PARAMETERS,
}
WARMUP_KINDS = ("linear", "exponential", "gradient")


def _value(parameter):
    return ops.cast(parameter, "float32")


def interpolate_between(step, start, end, begin, finish, cosine):
    """`start` at step `begin` to `end` at step `finish` (held outside), all tensors allowed.

    `f = clip((t - begin) / (finish - begin), 0, 1)`; cosine: `w = 0.5 (1 + cos(pi f))`, linear:
    `w = 1 - f`; the value is `start * w + end * (1 - w)` (exact at both ends).
    """
    length = ops.maximum(_value(finish) - _value(begin), 1.0)
    fraction = ops.clip((_value(step) - _value(begin)) / length, 0.0, 1.0)
    weight = ops.where(
        _value(cosine) > 0.5, 0.5 * (1.0 + ops.cos(math.pi * fraction)), 1.0 - fraction
    )
    return _value(start) * weight + _value(end) * (1.0 - weight)


def cycle_learning_rate(step, parameters):
    """The 1cycle rate: rise `initial -> max` until the fall starts, then `fall_from -> floor`."""
    p = parameters
    rise = interpolate_between(
        step,
        p["cycle_initial"],
        p["cycle_max"],
        p["cycle_start"],
        p["cycle_peak"],
        p["cycle_cosine"],
    )
    fall = interpolate_between(
        step,
        p["cycle_fall_from"],
        p["cycle_floor"],
        p["cycle_fall_start"],
        p["cycle_end"],
        p["cycle_cosine"],
    )
    return ops.where(_value(step) < _value(p["cycle_fall_start"]), rise, fall)


def cycle_momentum(step, parameters):
    """The mirrored momentum: `max -> base` while the rate rises, `fall_from -> max` after.

    While the cycle is off it is the optimizer's own value, `momentum_user`.
    """
    p = parameters
    down = interpolate_between(
        step,
        p["momentum_max"],
        p["momentum_base"],
        p["cycle_start"],
        p["cycle_peak"],
        p["cycle_cosine"],
    )
    up = interpolate_between(
        step,
        p["momentum_fall_from"],
        p["momentum_max"],
        p["cycle_fall_start"],
        p["cycle_end"],
        p["cycle_cosine"],
    )
    cycled = ops.where(_value(step) < _value(p["cycle_fall_start"]), down, up)
    return ops.where(_value(p["cycle_on"]) > 0.5, cycled, _value(p["momentum_user"]))


def warmup_overlay(step, rate, parameters):
    """The warm-up of `rate` (a callable `step -> value`) at `step`.

    With `t0 = warmup_start`, `w = warmup_steps`, `target = rate(t0 + w)` and
    `init = warmup_init + warmup_init_fraction * target`:
    linear `init + (target - init) (t - t0) / w` and exponential
    `init (target / init) ** ((t - t0) / w)` for `t < t0 + w`, then `rate(t)`; gradient-adaptive
    `init + (rate(t) - init) min(progress / w, 1)`. Off: `rate(t)`.
    """
    p = parameters
    t = _value(step)
    current = _value(rate(t))
    begin, length = _value(p["warmup_start"]), ops.maximum(_value(p["warmup_steps"]), 1.0)
    target = _value(rate(begin + length))
    init = _value(p["warmup_init"]) + _value(p["warmup_init_fraction"]) * target
    fraction = ops.clip((t - begin) / length, 0.0, 1.0)
    linear = init * (1.0 - fraction) + target * fraction
    # A zero target gives a zero default init; keep that ramp at 0 instead of 0 / 0.
    has_init = init > 0.0
    ratio = ops.where(has_init, target / ops.where(has_init, init, 1.0), 0.0)
    exponential = init * ops.power(ratio, fraction)
    kind = _value(p["warmup_kind"])
    timed = ops.where(t < begin + length, ops.where(kind > 0.5, exponential, linear), current)
    progress = ops.minimum(_value(p["warmup_progress"]) / length, 1.0)
    adaptive = init + (current - init) * progress
    warmed = ops.where(kind > 1.5, adaptive, timed)
    return ops.where(_value(p["warmup_on"]) > 0.5, warmed, current)


def composed_learning_rate(step, base, parameters):
    """`lr(t) = max(m W(S(t)), min(W(S(t)), min_lr))`; see the module docstring.

    Args:
        step: The optimizer's `iterations` (0-based).
        base: The user's rate: a callable `step -> value`, or `None` to read `parameters["base"]`.
        parameters: A mapping with every name of `PARAMETERS` (floats or scalar variables).

    Returns:
        A float32 tensor.
    """
    p = parameters

    def user_rate(t):
        return _value(base(t)) if base is not None else _value(p["base"]) + 0.0 * _value(t)

    def scheduled(t):
        return ops.where(_value(p["cycle_on"]) > 0.5, cycle_learning_rate(t, p), user_rate(t))

    warmed = warmup_overlay(step, scheduled, p)
    floor = ops.minimum(warmed, _value(p["min_lr"]))
    return ops.maximum(_value(p["multiplier"]) * warmed, floor)


@register("schedule")
class ComposedLearningRate(Schedule):
    """The user's learning rate with a 1cycle, a warm-up and a plateau multiplier composed on it.

    `lr(t) = max(m * W(S(t)), min(W(S(t)), min_lr))`, where `S` is the cycle while it is on and
    the user's rate `base` otherwise, and `W` the warm-up overlay (see `warmup_overlay`). The
    callbacks `WarmUp`, `OneCycle` and `PerformanceScheduler` install one of these per optimizer
    (through `optimizer.learning_rate = schedule`) and assign its parameters; with every slot off
    it equals `base` exactly, and it is replaced by `base` again when training ends.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        base: The user's rate: a float, a `LearningRateSchedule` or a serialized schedule.
        parameters: Optional mapping from the names in `PARAMETERS` to floats or scalar
            variables; names left out take the value that switches their slot off.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a `base` that is neither a finite number nor a schedule, or an unknown
            parameter name.

    Example:
    ```python
    schedule = ComposedLearningRate(1e-3, {"multiplier": 0.5, "min_lr": 1e-5})
    float(schedule(0))  # 5e-4
    ```

    Reference:
        Smith, 2018, "A disciplined approach to neural network hyper-parameters"; Goyal et al.,
        2017, "Accurate, Large Minibatch SGD".
    """

    def __init__(self, base, parameters=None):
        if isinstance(base, dict):
            base = keras.optimizers.schedules.deserialize(base)
        parameters = dict(parameters or {})
        unknown = sorted(set(parameters) - set(PARAMETERS))
        if unknown:
            raise ValueError(
                f"Argument parameters has unknown names {unknown}; known: {sorted(PARAMETERS)}. "
                f"Received: parameters={parameters!r}"
            )
        if isinstance(base, Schedule):
            self.base = base
        elif (
            isinstance(base, numbers.Real)
            and not isinstance(base, bool)
            and math.isfinite(float(base))
        ):
            self.base = float(base)
            parameters.setdefault("base", float(base))
        else:
            raise ValueError(
                "Argument base must be a finite learning rate or a LearningRateSchedule. "
                f"Received: base={base!r}"
            )
        self.parameters = {**PARAMETERS, **parameters}

    def __call__(self, step):
        base = self.base if isinstance(self.base, Schedule) else None
        return composed_learning_rate(step, base, self.parameters)

    def get_config(self):
        base = (
            keras.optimizers.schedules.serialize(self.base)
            if isinstance(self.base, Schedule)
            else self.base
        )
        # A save during `fit` (ModelCheckpoint) keeps the curve as it is at that moment.
        parameters = {
            name: float(ops.convert_to_numpy(value)) for name, value in self.parameters.items()
        }
        return {"base": base, "parameters": parameters}
