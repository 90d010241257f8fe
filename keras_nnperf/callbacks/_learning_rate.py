"""Plumbing shared by the learning-rate callbacks: read, wrap and log what the optimizer holds.

A Keras 3 optimizer holds its learning rate as a float variable, a `LearningRateSchedule` or a
callable, and reads it in-graph as `schedule(iterations)` on every step. The callbacks here never
assign per batch: they install a schedule (or a lazily evaluated momentum) once, in
`on_train_begin`, and the compiled train step does the rest. Under mixed precision everything
goes to the inner optimizer of the `LossScaleOptimizer`, which owns the learning rate and the
step counter that only advances on finite steps.
"""

from __future__ import annotations

import copy

import keras
import numpy as np
from keras import ops

from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.registry import register

Schedule = keras.optimizers.schedules.LearningRateSchedule

# The attribute that plays the role of "momentum" in Smith's 1Cycle, per optimizer class. Each was
# checked in Keras 3.15's source: SGD reads `ops.cast(self.momentum, ...)` after a Python
# `self.momentum != 0` test; Adam, AdamW, Nadam, Adamax and Lamb read `ops.cast(self.beta_1, ...)`
# and `1 - self.beta_1` inside `update_step` (Nadam also in `_backend_update_step`).
_MOMENTUM_ATTRIBUTES = (
    (keras.optimizers.SGD, "momentum"),
    (keras.optimizers.Adam, "beta_1"),
    (keras.optimizers.Nadam, "beta_1"),
    (keras.optimizers.Adamax, "beta_1"),
    (keras.optimizers.Lamb, "beta_1"),
)


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer will use on its next step (one host read)."""
    inner = unscaled_optimizer(optimizer)
    return float(ops.convert_to_numpy(inner.learning_rate))


def learning_rate_as_schedule(optimizer) -> Schedule:
    """What the optimizer holds, as a schedule: a float becomes `Constant(value)`.

    Raises:
        ValueError: if the optimizer holds a plain callable (it cannot be wrapped and saved).
    """
    from keras_nnperf.schedules import Constant

    held = unscaled_optimizer(optimizer)._learning_rate
    if isinstance(held, Schedule):
        return held
    if callable(held):
        raise ValueError(
            "The learning-rate callbacks wrap a float or a `LearningRateSchedule`; the optimizer "
            f"holds a plain callable. Received: learning_rate={held!r}"
        )
    return Constant(float(ops.convert_to_numpy(held)))


def install_schedule(optimizer, schedule: Schedule) -> None:
    """Make `schedule` the optimizer's learning rate, read in-graph at every step.

    The public setter drops the old float variable from the optimizer's variables, so the
    optimizer looks exactly like one built with `learning_rate=schedule` and saves as one.
    """
    unscaled_optimizer(optimizer).learning_rate = schedule


def momentum_attribute(optimizer) -> str | None:
    """`"momentum"` for SGD, `"beta_1"` for the Adam family and Lamb, else `None`."""
    inner = unscaled_optimizer(optimizer)
    for cls, attribute in _MOMENTUM_ATTRIBUTES:
        if isinstance(inner, cls):
            return attribute
    return None


class ScheduledHyperparameter:
    """An optimizer hyperparameter (`momentum`, `beta_1`) read in-graph from a variable.

    Keras's optimizers read `momentum` / `beta_1` with `ops.cast(...)` or plain arithmetic inside
    the train step, once per model variable, so this object converts to the current value of
    `variable` on demand; a gradient hook assigns `variable = schedule(iterations)` once per step
    (evaluating the schedule at every read cost about as much as the step itself). It compares
    unequal to every number, which is what SGD's structural `self.momentum != 0` test needs to
    keep its momentum update. Conversion goes through TensorFlow's `__tf_tensor__` protocol, so
    this needs the TensorFlow backend.

    Args:
        variable: A scalar float32 `keras.Variable` holding the value for the current step.
    """

    def __init__(self, variable):
        self.variable = variable

    def value(self):
        """The value for the current step, a float32 tensor."""
        return ops.cast(self.variable, "float32")

    def __tf_tensor__(self, dtype=None, name=None):
        import tensorflow as tf

        return tf.convert_to_tensor(self.value(), dtype=dtype, name=name)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    __hash__ = object.__hash__

    def __add__(self, other):
        return self.value() + other

    def __radd__(self, other):
        return other + self.value()

    def __sub__(self, other):
        return self.value() - other

    def __rsub__(self, other):
        return other - self.value()

    def __mul__(self, other):
        return self.value() * other

    def __rmul__(self, other):
        return other * self.value()

    def __truediv__(self, other):
        return self.value() / other

    def __rtruediv__(self, other):
        return other / self.value()

    def __repr__(self):
        return f"ScheduledHyperparameter({self.variable!r})"


def save_as_float_in_config(optimizer, attribute: str) -> None:
    """Make `optimizer.get_config()` save a `ScheduledHyperparameter` as its current float.

    A model saved during `fit` (`ModelCheckpoint`) serializes the optimizer while the lazy value
    is installed; it must be written as a number, or saving raises and loading could not
    rebuild the optimizer. Reading the value on the host is fine here: saving already syncs.
    """
    class_get_config = type(optimizer).get_config

    def get_config():
        held = getattr(optimizer, attribute)
        if not isinstance(held, ScheduledHyperparameter):
            return class_get_config(optimizer)
        setattr(optimizer, attribute, float(ops.convert_to_numpy(held.variable)))
        try:
            return class_get_config(optimizer)
        finally:
            setattr(optimizer, attribute, held)

    optimizer.get_config = get_config


def restore_get_config(optimizer) -> None:
    """Undo `save_as_float_in_config`."""
    if "get_config" in vars(optimizer):
        del optimizer.get_config


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
        if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)):
            raise ValueError(f"Argument offset must be an integer. Received: offset={offset!r}")
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
        if not isinstance(multiplier, (int, float)) or not multiplier > 0:
            raise ValueError(
                f"Argument multiplier must be > 0. Received: multiplier={multiplier!r}"
            )
        if not isinstance(min_learning_rate, (int, float)) or not min_learning_rate >= 0:
            raise ValueError(
                "Argument min_learning_rate must be >= 0. "
                f"Received: min_learning_rate={min_learning_rate!r}"
            )
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


def warmup_active(schedule, step: int) -> bool:
    """True while any warm-up inside `schedule` is still ramping at `step` (host-side check).

    Understands `keras_nnperf.schedules.WarmUp` (`warmup_steps`), the gradient warm-up's
    `AdaptiveWarmUp` (its `is_warming_up()`), and walks through `StepOffset`, `ScaledSchedule`
    and any schedule that holds others in attributes (`Join` segments are checked with their own
    clock when they expose `boundaries`).
    """
    if not isinstance(schedule, Schedule):
        return False
    if hasattr(schedule, "is_warming_up"):
        return bool(schedule.is_warming_up())
    if isinstance(schedule, StepOffset):
        return warmup_active(schedule.schedule, max(step + schedule.offset, 0))
    if type(schedule).__name__ == "WarmUp" and step < int(getattr(schedule, "warmup_steps", 0)):
        return True
    children = [
        child
        for value in vars(schedule).values()
        for child in (value if isinstance(value, (list, tuple)) else [value])
        if isinstance(child, Schedule)
    ]
    boundaries = list(getattr(schedule, "boundaries", []) or [])
    if boundaries and len(children) == len(boundaries) + 1:
        # optax `join` semantics: segment i sees the step relative to its start boundary.
        starts = [0, *boundaries]
        index = sum(step >= boundary for boundary in boundaries)
        return warmup_active(children[index], step - starts[index])
    return any(warmup_active(child, step) for child in children)


def log_hyperparameters(optimizer, logs: dict | None, attribute: str | None = None) -> None:
    """Write `learning_rate` (and the moved momentum attribute) into `logs`: one read per epoch."""
    if logs is None:
        return
    logs["learning_rate"] = current_learning_rate(optimizer)
    inner = unscaled_optimizer(optimizer)
    held = getattr(inner, attribute, None) if attribute else None
    if isinstance(held, ScheduledHyperparameter):
        logs[attribute] = float(ops.convert_to_numpy(held.value()))


class CopyByConfig:
    """Mixin: `copy.deepcopy` gives a fresh, unbound callback built from the same arguments.

    keras-tuner deep-copies the callbacks for every trial; a callback that already trained holds
    its model and TensorFlow variables, which must not be copied along.
    """

    def get_config(self) -> dict:
        """The constructor arguments."""
        return dict(self._config)

    def __deepcopy__(self, memo):
        return type(self)(**copy.deepcopy(self.get_config(), memo))
