"""Warm-up for any schedule, composed rather than re-implemented per schedule.

Overlay semantics (timm's default): the wrapped schedule counts the whole run, warm-up included,
so its `decay_steps`/`total_steps` mean the same with or without warm-up. For `t < w` the rate
ramps from `init` to `target = schedule(w)`; from step `w` on it is `schedule(t)`, so the curve is
continuous at the boundary.

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; the k-th update uses `schedule(k)`.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.schedules._coerce import to_schedule
from keras_nnperf.schedules._validation import (
    check_choice,
    check_learning_rate,
    check_number,
    check_steps,
)
from keras_nnperf.schedules.basic import Constant
from keras_nnperf.schedules.cosine import CosineDecay
from keras_nnperf.schedules.sequence import Join

WARMUP_KINDS = ("linear", "exponential")


def apply_warmup(step, schedule, warmup_steps, kind="linear", init_learning_rate=None):
    """Ramp from `init` to `target = schedule(w)` over `w` steps, then follow `schedule(t)`.

    Linear: `init + (target - init) * t / w` (default `init = 0`); exponential:
    `init * (target / init) ** (t / w)` (default `init = target / 100`).

    Args:
        step: The optimizer's `iterations` (0-based).
        schedule: A callable `step -> learning rate`.
        warmup_steps: `w`, >= 0 (0 returns `schedule(t)`).
        kind: `"linear"` or `"exponential"`.
        init_learning_rate: `init`, or `None` for the default of `kind`.

    Returns:
        A float32 tensor.
    """
    step = ops.cast(step, "float32")
    after = ops.cast(schedule(step), "float32")
    if warmup_steps == 0:
        return after
    target = ops.cast(schedule(ops.convert_to_tensor(float(warmup_steps), "float32")), "float32")
    fraction = step / float(warmup_steps)
    if kind == "exponential":
        init = target / 100.0 if init_learning_rate is None else init_learning_rate
        init = ops.cast(init, "float32")
        # A zero target gives a zero default init; keep that ramp at 0 instead of 0 / 0.
        has_init = init > 0.0
        ratio = ops.where(has_init, target / ops.where(has_init, init, 1.0), 0.0)
        ramp = init * ops.power(ratio, fraction)
    else:
        init = 0.0 if init_learning_rate is None else init_learning_rate
        ramp = init * (1.0 - fraction) + target * fraction
    return ops.where(step < float(warmup_steps), ramp, after)


@register("schedule")
class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Warm up any schedule: ramp to where it is at `warmup_steps`, then follow it.

    With `w = warmup_steps` and `target = schedule(w)`: for `t < w`,
    linear: `lr(t) = init + (target - init) * t / w`;
    exponential: `lr(t) = init * (target / init) ** (t / w)`;
    for `t >= w`: `lr(t) = schedule(t)`. The wrapped schedule counts the whole run including the
    warm-up (overlay semantics, as timm), so a `CosineDecay(lr, decay_steps=T)` still ends at `T`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        schedule: A `LearningRateSchedule`, a constant learning rate (float) or a serialized
            schedule config.
        warmup_steps: `w`, an integer >= 0 (0 means no warm-up).
        kind: `"linear"` or `"exponential"`. Defaults to `"linear"`.
        init_learning_rate: The rate at step 0, >= 0 (> 0 for `"exponential"`). Defaults to 0 for
            linear and `target / 100` for exponential.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for an invalid `schedule`, `warmup_steps < 0`, an unknown `kind`, or an
            `init_learning_rate` that is negative (or not > 0 for `"exponential"`).

    Example:
    ```python
    schedule = WarmUp(CosineDecay(1e-3, decay_steps=10_000), warmup_steps=500)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """

    def __init__(self, schedule, warmup_steps: int, kind: str = "linear", init_learning_rate=None):
        self.schedule = to_schedule("schedule", schedule)
        self.warmup_steps = check_steps("warmup_steps", warmup_steps, allow_zero=True)
        self.kind = check_choice("kind", kind, WARMUP_KINDS)
        if init_learning_rate is not None:
            if self.kind == "exponential":
                init_learning_rate = check_number(
                    "init_learning_rate", init_learning_rate, low=0.0, low_open=True
                )
            else:
                init_learning_rate = check_learning_rate("init_learning_rate", init_learning_rate)
        self.init_learning_rate = init_learning_rate

    def __call__(self, step):
        return apply_warmup(
            step, self.schedule, self.warmup_steps, self.kind, self.init_learning_rate
        )

    def get_config(self):
        return {
            "schedule": keras.optimizers.schedules.serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "kind": self.kind,
            "init_learning_rate": self.init_learning_rate,
        }

    @classmethod
    def from_config(cls, config):
        """Rebuild the schedule, deserializing the wrapped one."""
        config = dict(config)
        config["schedule"] = keras.optimizers.schedules.deserialize(config["schedule"])
        return cls(**config)


def warmup_cosine(
    peak_learning_rate: float,
    total_steps: int,
    warmup_steps: int,
    alpha: float = 0.0,
    kind: str = "linear",
) -> WarmUp:
    """Warm up to `peak_learning_rate` over `warmup_steps`, then cosine-decay until `total_steps`.

    Built as `WarmUp(Join([Constant(peak), CosineDecay(peak, total_steps - w, alpha)], [w]), w)`:
    the cosine starts at the end of the warm-up, so `lr(w) = peak_learning_rate` exactly, and it
    reaches `alpha * peak_learning_rate` at step `total_steps` (held after). The `Constant` phase
    lies under the warm-up ramp and is never used. With `warmup_steps=0` this is a plain
    `CosineDecay(peak, total_steps, alpha)`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        peak_learning_rate: The rate at the end of the warm-up, >= 0.
        total_steps: The whole run including the warm-up, an integer > `warmup_steps`.
        warmup_steps: `w`, an integer >= 0.
        alpha: The floor as a fraction of the peak, in [0, 1]. Defaults to 0.
        kind: `"linear"` or `"exponential"` warm-up. Defaults to `"linear"`.

    Returns:
        A serializable `WarmUp` schedule.

    Raises:
        ValueError: for invalid arguments, or `warmup_steps >= total_steps`.

    Example:
    ```python
    optimizer = keras.optimizers.AdamW(
        learning_rate=warmup_cosine(1e-3, total_steps=10_000, warmup_steps=500)
    )
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD"; Loshchilov & Hutter, 2017, "SGDR".
    """
    peak = check_learning_rate("peak_learning_rate", peak_learning_rate)
    total_steps = check_steps("total_steps", total_steps)
    warmup_steps = check_steps("warmup_steps", warmup_steps, allow_zero=True)
    if warmup_steps >= total_steps:
        raise ValueError(
            "Argument warmup_steps must be < total_steps. "
            f"Received: warmup_steps={warmup_steps!r}, total_steps={total_steps!r}"
        )
    cosine = CosineDecay(peak, total_steps - warmup_steps, alpha)
    if warmup_steps == 0:
        return WarmUp(cosine, 0, kind)
    return WarmUp(Join([Constant(peak), cosine], [warmup_steps]), warmup_steps, kind)
