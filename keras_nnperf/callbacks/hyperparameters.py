"""Read, log, replace and restore an optimizer's learning rate and momentum.

A Keras 3 optimizer holds its learning rate as a float variable, a `LearningRateSchedule` or a
callable, and reads it in-graph as `schedule(iterations)` at every step; its momentum (`momentum`
for SGD, `beta_1` for the Adam family and Lamb) is a plain Python attribute read with
`ops.cast(...)` and arithmetic inside `update_step`. Under mixed precision everything goes to the
inner optimizer of the `LossScaleOptimizer`, which owns the learning rate and the step counter.

Keras has a public way to *replace* the learning rate (`optimizer.learning_rate = schedule`) but
none to go back to a float once a schedule is installed, and none to read what the optimizer
holds (`optimizer.learning_rate` evaluates it). The two private accesses that needs are isolated in
`held_learning_rate` and `restore_learning_rate`; `tests/callbacks/test_hyperparameters.py`
fails if Keras moves them.
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops

from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.schedules.composed import ComposedLearningRate, same_trace, trace_key

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
    """The learning rate the optimizer will use on its next step, `schedule(iterations)`.

    When the optimizer holds our `ComposedLearningRate` (any learning-rate callback is on), its
    formula is evaluated on the host in NumPy float32 from one read of its variables
    (`ComposedLearningRate.host_value`): `optimizer.learning_rate` would evaluate it eagerly,
    about a hundred small backend ops (8 ms of CPU per call on TensorFlow, 3 on JAX, measured;
    the host evaluation 0.7 and 0.4). Otherwise this reads `optimizer.learning_rate`.
    """
    inner = unscaled_optimizer(optimizer)
    held = held_learning_rate(inner)
    if isinstance(held, ComposedLearningRate):
        return held.host_value(inner.iterations)
    return float(ops.convert_to_numpy(inner.learning_rate))


def held_learning_rate(optimizer):
    """What the optimizer holds as its learning rate: a variable, a schedule or a callable.

    Keras exposes only the evaluated rate (`optimizer.learning_rate`); the object itself is the
    private `_learning_rate`, read here only.
    """
    return unscaled_optimizer(optimizer)._learning_rate


def learning_rate_as_schedule(optimizer) -> Schedule:
    """What the optimizer holds, as a schedule: a float becomes `Constant(value)`.

    Raises:
        ValueError: if the optimizer holds a plain callable (it cannot be wrapped and saved).
    """
    from keras_nnperf.schedules import Constant

    held = held_learning_rate(optimizer)
    if isinstance(held, Schedule):
        return held
    if callable(held):
        raise ValueError(
            "The learning-rate callbacks wrap a float or a `LearningRateSchedule`; the optimizer "
            f"holds a plain callable. Received: learning_rate={held!r}"
        )
    return Constant(float(ops.convert_to_numpy(held)))


def restore_learning_rate(optimizer, held, index: int | None) -> None:
    """Give the optimizer back the learning rate `held` it had before a schedule replaced it.

    A schedule is set through the public setter. A float variable cannot be: once a schedule is
    installed, Keras's setter refuses floats, and it untracked the variable when the schedule
    came in. So the variable goes back where it was (`index` in `optimizer.variables`), through
    the optimizer's private `_learning_rate` and `_variables`: a model saved afterwards then has
    exactly the optimizer variables, in the order, that Keras expects when it loads it.
    """
    target = unscaled_optimizer(optimizer)
    if isinstance(held, Schedule) or held is None or index is None:
        target.learning_rate = held
        return
    # Setting the attribute tracks the variable again (appended last); then move it back.
    target._learning_rate = held
    tracked = target._variables
    if not any(variable is held for variable in tracked):
        target._track_variable(held)
    position = next(i for i, variable in enumerate(tracked) if variable is held)
    tracked.insert(min(index, len(tracked) - 1), tracked.pop(position))


def variable_index(optimizer, variable) -> int | None:
    """Position of `variable` in `optimizer.variables` (by identity), or `None`."""
    for i, each in enumerate(unscaled_optimizer(optimizer).variables):
        if each is variable:
            return i
    return None


def momentum_attribute(optimizer) -> str | None:
    """`"momentum"` for SGD, `"beta_1"` for the Adam family and Lamb, else `None`."""
    inner = unscaled_optimizer(optimizer)
    for cls, attribute in _MOMENTUM_ATTRIBUTES:
        if isinstance(inner, cls):
            return attribute
    return None


def _math(method):
    def operate(self, *others):
        return getattr(self.value, method)(*others)

    operate.__name__ = method
    return operate


class ScheduledHyperparameter(float, keras.Variable):
    """A hyperparameter (`momentum`, `beta_1`) that follows a variable and reads as a number.

    Put in place of the optimizer's float while a callback schedules it. It is three things at
    once, each for one reader:

    * the optimizer's update step: `ops.cast(h, dtype)` and arithmetic give the current value of
      `variable` in-graph on every backend (Keras converts a `keras.Variable` through its `value`,
      which JAX's stateless step maps to the value it carries);
    * user code: `float(h)` is the current value (on JAX, as of the last state sync: each epoch);
    * serialization: it *is* a float, whose saved value is the user's own `original`, so a
      `ModelCheckpoint` written during `fit` loads as a plain optimizer.

    Comparisons return Python booleans (SGD tests `self.momentum != 0` in Python while tracing):
    a number outside `[low, high]`, the range of the schedule, is unequal without reading it.

    Args:
        variable: The optimizer-owned scalar float32 variable that holds the current value.
        original: The user's value, what a save writes and what training ends with.
        low: Smallest value the schedule takes.
        high: Largest value the schedule takes.
    """

    def __new__(cls, variable, original, low=0.0, high=1.0):
        return float.__new__(cls, original)

    def __init__(self, variable, original, low=0.0, high=1.0):
        # keras.Variable.__init__ is not called: this object owns no storage of its own.
        self._state = variable
        self._assigned_in_trace = None
        self.original, self.low, self.high = float(original), float(low), float(high)

    @property
    def value(self):
        """The current value, as the backend's tensor."""
        assigned = self._assigned_in_trace
        if assigned is not None:
            key = trace_key(self._state, {})
            if key is not None and same_trace(assigned[0], key):
                return assigned[1]
        return self._state.value

    def assign(self, value):
        """Set the current value (the variable's); inside a traced step, later reads reuse it.

        Adam reads `beta_1` twice per weight (`ops.cast`, `1 - beta_1`): on TensorFlow each
        read of the variable is one more operation in the step (12 for a three-layer MLP). In
        the same trace, until a scalar variable is assigned again (the step counter, at the
        end of the step), a read gives what was just assigned: those reads return it.
        """
        self._state.assign(value)
        key = trace_key(self._state, {})
        # (trace key, value); never copied or saved: this object pickles as a plain float.
        self._assigned_in_trace = None if key is None else (key, value)

    @property
    def dtype(self):
        return self._state.dtype

    @property
    def shape(self):
        return self._state.shape

    @property
    def ndim(self):
        return 0

    @property
    def trainable(self):
        return False

    @property
    def name(self):
        return self._state.name

    @property
    def path(self):
        return self._state.path

    def numpy(self):
        """The current value as a NumPy scalar."""
        return ops.convert_to_numpy(self._state)

    def __float__(self):
        return float(ops.convert_to_numpy(self._state))

    def __array__(self, dtype=None, copy=None):
        return np.asarray(ops.convert_to_numpy(self._state), dtype=dtype)

    def __jax_array__(self):
        return self.value

    def __tf_tensor__(self, dtype=None, name=None):
        import tensorflow as tf

        return tf.convert_to_tensor(self.value, dtype=dtype, name=name)

    def __eq__(self, other):
        if isinstance(other, numbers.Real) and not self.low <= float(other) <= self.high:
            return False
        if isinstance(other, numbers.Real):
            # In the variable's precision, as `keras.Variable.__eq__` compares.
            current = np.asarray(ops.convert_to_numpy(self._state))
            return bool(current == np.asarray(other, dtype=current.dtype))
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = object.__hash__

    def __bool__(self):
        return bool(self.high > 0.0)

    def __reduce__(self):
        return (float, (float(self),))

    def __repr__(self):
        return f"<ScheduledHyperparameter original={self.original} variable={self._state.path}>"

    __add__ = _math("__add__")
    __radd__ = _math("__radd__")
    __sub__ = _math("__sub__")
    __rsub__ = _math("__rsub__")
    __mul__ = _math("__mul__")
    __rmul__ = _math("__rmul__")
    __truediv__ = _math("__truediv__")
    __rtruediv__ = _math("__rtruediv__")
    __pow__ = _math("__pow__")
    __rpow__ = _math("__rpow__")
    __neg__ = _math("__neg__")
    __lt__ = _math("__lt__")
    __le__ = _math("__le__")
    __gt__ = _math("__gt__")
    __ge__ = _math("__ge__")


def set_untracked_attribute(optimizer, name: str, value) -> None:
    """Set `optimizer.<name>` without Keras adding `value` to `optimizer.variables`.

    A `ScheduledHyperparameter` is a `keras.Variable` to the backends' conversion rules, so the
    optimizer's tracking `__setattr__` would list it among its variables (and JAX would then try
    to assign it). `object.__setattr__` skips that tracking; nothing else differs.
    """
    object.__setattr__(unscaled_optimizer(optimizer), name, value)


def log_hyperparameters(optimizer, logs: dict | None, attribute: str | None = None) -> None:
    """Write `learning_rate` (and the scheduled momentum attribute) into `logs`: one host read."""
    if logs is None:
        return
    logs["learning_rate"] = current_learning_rate(optimizer)
    held = getattr(unscaled_optimizer(optimizer), attribute, None) if attribute else None
    if isinstance(held, ScheduledHyperparameter):
        logs[attribute] = float(held)
