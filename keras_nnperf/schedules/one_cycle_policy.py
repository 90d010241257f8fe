"""The 1cycle policy: one ramp up and one long anneal, with the mirrored momentum curve.

Both curves are two annealing phases joined at the peak step (a composition, as in optax), for a
run of `total_steps` updates (steps `0 .. T-1`):

* step 0: `max_lr / div_factor`, momentum `max_momentum`;
* step `p = int(pct_start * T)`: `max_lr`, momentum `base_momentum`;
* step `T - 1` (the last update of the run): `max_lr / div_factor / final_div_factor`, momentum
  `max_momentum`; both values are held after it.

PyTorch's `OneCycleLR(total_steps=T)` peaks one step earlier (at `pct_start * T - 1`): with
`pct_start * T` an integer it is `OneCycle(max_lr, T, pct_start=(pct_start * T - 1) / T)`.
fastai's `fit_one_cycle(N)` never reaches its floor: it is `OneCycle(max_lr, N + 1,
final_div_factor=4000)` over `N` updates (exact when `pct_start * N` is an integer). optax's
`cosine_onecycle_schedule(T)` is `OneCycle(max_lr, T + 1)`.

`step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).
"""

from __future__ import annotations

import functools
import math

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.schedules._validation import check_choice, check_number, check_steps
from keras_nnperf.schedules.sequence import join_schedules

ANNEAL_KINDS = ("cos", "linear")


def interpolate(step, start, end, steps, kind="cos"):
    """Go from `start` at step 0 to `end` at step `steps`, then hold `end`.

    `f = min(t, steps) / steps`; `"cos"`: `end + (start - end) * 0.5 * (1 + cos(pi * f))`;
    `"linear"`: `start + (end - start) * f`.

    Args:
        step: The step, counted from the start of this phase.
        start: The value at step 0.
        end: The value from step `steps` on.
        steps: The length of the phase, > 0.
        kind: `"cos"` or `"linear"`.

    Returns:
        A float32 tensor.
    """
    # Clip after dividing: XLA turns `x / s` into `x * (1 / s)`, which can overshoot 1.
    fraction = ops.clip(ops.cast(step, "float32") / steps, 0.0, 1.0)
    if kind == "cos":
        weight = 0.5 * (1.0 + ops.cos(math.pi * fraction))
    else:
        weight = 1.0 - fraction
    # A weighted sum is exact at both ends (`start + (end - start) * 1` can round below zero).
    return start * weight + end * (1.0 - weight)


def peak_step(total_steps: int, pct_start: float) -> int:
    """The step at which a 1cycle curve peaks: `int(pct_start * total_steps)`.

    Clamped into `[1, total_steps - 2]` so both phases keep at least one step: a very short run
    (a tuner trial on little data) still gets a cycle instead of an error.
    """
    return min(max(int(pct_start * total_steps), 1), total_steps - 2)


def one_cycle(
    step,
    max_learning_rate,
    total_steps,
    pct_start=0.25,
    div_factor=25.0,
    final_div_factor=1e4,
    anneal="cos",
):
    """The 1cycle learning rate (see `OneCycle` for the exact curve).

    Args:
        step: The optimizer's `iterations` (0-based).
        max_learning_rate: The peak.
        total_steps: `T`, the updates in the run; the floor is reached at step `T - 1`.
        pct_start: Fraction of `T` spent rising.
        div_factor: The start is `max_learning_rate / div_factor`.
        final_div_factor: The floor is `start / final_div_factor`.
        anneal: `"cos"` or `"linear"`, for both phases.

    Returns:
        A float32 tensor.
    """
    start = max_learning_rate / div_factor
    floor = start / final_div_factor
    peak = peak_step(total_steps, pct_start)
    rise = functools.partial(
        interpolate, start=start, end=max_learning_rate, steps=peak, kind=anneal
    )
    fall = functools.partial(
        interpolate, start=max_learning_rate, end=floor, steps=total_steps - 1 - peak, kind=anneal
    )
    return join_schedules(step, [rise, fall], [peak])


def one_cycle_momentum(
    step, total_steps, pct_start=0.25, max_momentum=0.95, base_momentum=0.85, anneal="cos"
):
    """The 1cycle momentum: `max -> base` while the rate rises, `base -> max` while it falls.

    Args:
        step: The optimizer's `iterations` (0-based).
        total_steps: `T`, the updates in the run; `max_momentum` is back at step `T - 1`.
        pct_start: Fraction of `T` spent falling to `base_momentum`.
        max_momentum: Momentum at the start and the end.
        base_momentum: Momentum at the peak of the learning rate.
        anneal: `"cos"` or `"linear"`.

    Returns:
        A float32 tensor.
    """
    peak = peak_step(total_steps, pct_start)
    down = functools.partial(
        interpolate, start=max_momentum, end=base_momentum, steps=peak, kind=anneal
    )
    up = functools.partial(
        interpolate,
        start=base_momentum,
        end=max_momentum,
        steps=total_steps - 1 - peak,
        kind=anneal,
    )
    return join_schedules(step, [down, up], [peak])


def _check_cycle(total_steps, pct_start, anneal) -> tuple[int, float, str]:
    total_steps = check_steps("total_steps", total_steps)
    pct_start = check_number(
        "pct_start", pct_start, low=0.0, high=1.0, low_open=True, high_open=True
    )
    # Both phases need at least one step, so the peak (clamped by `peak_step`) needs 3.
    if total_steps < 3:
        raise ValueError(
            "Argument total_steps must be >= 3 for a cycle (a step up, the peak, a step down). "
            f"Received: total_steps={total_steps!r}"
        )
    return total_steps, pct_start, check_choice("anneal", anneal, ANNEAL_KINDS)


@register("schedule")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """The 1cycle learning-rate policy: warm up to `max_learning_rate`, then anneal far below.

    With `lr_start = max_lr / div_factor`, `lr_end = lr_start / final_div_factor`, `T` the
    updates in the run and `p = int(pct_start * T)`:
    `lr(t) = anneal(lr_start -> max_lr, t / p)` for `t < p`,
    `lr(t) = anneal(max_lr -> lr_end, (t - p) / (T - 1 - p))` for `p <= t <= T - 1`, and `lr_end`
    after; `anneal` is half a cosine (`"cos"`) or a straight line (`"linear"`). `total_steps`
    includes the ramp, and the last update of the run (step `T - 1`) uses `lr_end` (PyTorch's
    `OneCycleLR` peaks one step earlier, fastai never reaches `lr_end`: see the module docstring).

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`). Pair it
    with `OneCycleMomentum` (through the OneCycle callback) for the full policy.

    Args:
        max_learning_rate: The peak, > 0 (pick it with an LR range test).
        total_steps: `T`, the number of updates in the run (epochs * steps per epoch), an integer.
        pct_start: Fraction of `T` spent rising, in (0, 1). Defaults to 0.25.
        div_factor: `max_lr / lr_start`, > 0. Defaults to 25.
        final_div_factor: `lr_start / lr_end`, > 0. Defaults to 1e4.
        anneal: `"cos"` or `"linear"`. Defaults to `"cos"`.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for `max_learning_rate <= 0`, non-positive factors, `pct_start` outside
            (0, 1), an unknown `anneal`, or `total_steps` too small for both phases.

    Example:
    ```python
    optimizer = keras.optimizers.Adam(
        learning_rate=OneCycle(1e-2, total_steps=epochs * steps_per_epoch)
    )
    ```

    Reference:
        Smith, 2018, "A disciplined approach to neural network hyper-parameters: Part 1";
        Smith & Topin, 2019, "Super-Convergence".
    """

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.25,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal: str = "cos",
    ):
        self.max_learning_rate = check_number(
            "max_learning_rate", max_learning_rate, low=0.0, low_open=True
        )
        self.total_steps, self.pct_start, self.anneal = _check_cycle(total_steps, pct_start, anneal)
        self.div_factor = check_number("div_factor", div_factor, low=0.0, low_open=True)
        self.final_div_factor = check_number(
            "final_div_factor", final_div_factor, low=0.0, low_open=True
        )

    @property
    def peak_step(self) -> int:
        """The step at which `max_learning_rate` is reached: `int(pct_start * total_steps)`."""
        return peak_step(self.total_steps, self.pct_start)

    @property
    def initial_learning_rate(self) -> float:
        """The rate at step 0: `max_learning_rate / div_factor`."""
        return self.max_learning_rate / self.div_factor

    @property
    def final_learning_rate(self) -> float:
        """The rate from step `total_steps - 1` on: `initial_learning_rate / final_div_factor`."""
        return self.initial_learning_rate / self.final_div_factor

    def __call__(self, step):
        return one_cycle(
            step,
            self.max_learning_rate,
            self.total_steps,
            self.pct_start,
            self.div_factor,
            self.final_div_factor,
            self.anneal,
        )

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal": self.anneal,
        }


@register("schedule")
class OneCycleMomentum(keras.optimizers.schedules.LearningRateSchedule):
    """The momentum half of 1cycle: the mirror image of `OneCycle`'s learning rate.

    With `p = int(pct_start * T)`: `m(t) = anneal(max_m -> base_m, t / p)` for `t < p`,
    `m(t) = anneal(base_m -> max_m, (t - p) / (T - 1 - p))` for `p <= t <= T - 1`, then `max_m`.
    It is a `LearningRateSchedule` that returns a momentum, so a callback can drive SGD's
    `momentum` or Adam's `beta_1` in-graph from the same `iterations`.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`). Use the
    same `total_steps`, `pct_start` and `anneal` as the matching `OneCycle`.

    Args:
        total_steps: `T`, the number of updates in the run, an integer.
        pct_start: Fraction of `T` before the turn, in (0, 1). Defaults to 0.25.
        max_momentum: At the start and the end, in [0, 1). Defaults to 0.95.
        base_momentum: At the learning-rate peak, in [0, max_momentum]. Defaults to 0.85.
        anneal: `"cos"` or `"linear"`. Defaults to `"cos"`.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor (a momentum).

    Raises:
        ValueError: for momenta outside [0, 1), `base_momentum > max_momentum`, `pct_start`
            outside (0, 1), an unknown `anneal`, or `total_steps` too small for both phases.

    Example:
    ```python
    momentum = OneCycleMomentum(total_steps=epochs * steps_per_epoch)
    beta_1 = momentum(optimizer.iterations)  # read in-graph by the OneCycle callback
    ```

    Reference:
        Smith, 2018, "A disciplined approach to neural network hyper-parameters: Part 1".
    """

    def __init__(
        self,
        total_steps: int,
        pct_start: float = 0.25,
        max_momentum: float = 0.95,
        base_momentum: float = 0.85,
        anneal: str = "cos",
    ):
        self.total_steps, self.pct_start, self.anneal = _check_cycle(total_steps, pct_start, anneal)
        self.max_momentum = check_number(
            "max_momentum", max_momentum, low=0.0, high=1.0, high_open=True
        )
        self.base_momentum = check_number(
            "base_momentum", base_momentum, low=0.0, high=1.0, high_open=True
        )
        if self.base_momentum > self.max_momentum:
            raise ValueError(
                "Argument base_momentum must be <= max_momentum. "
                f"Received: base_momentum={base_momentum!r}, max_momentum={max_momentum!r}"
            )

    @property
    def peak_step(self) -> int:
        """The step at which `base_momentum` is reached: `int(pct_start * total_steps)`."""
        return peak_step(self.total_steps, self.pct_start)

    def __call__(self, step):
        return one_cycle_momentum(
            step,
            self.total_steps,
            self.pct_start,
            self.max_momentum,
            self.base_momentum,
            self.anneal,
        )

    def get_config(self):
        return {
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "max_momentum": self.max_momentum,
            "base_momentum": self.base_momentum,
            "anneal": self.anneal,
        }
