"""Variables that our callbacks and hooks keep on the optimizer, so every backend carries them.

A variable that a gradient hook or a learning-rate schedule reads or writes inside the train step
must travel with the training state of every backend:

* TensorFlow captures any variable in its graph;
* JAX's trainer runs the optimizer in `optimizer.stateless_apply(optimizer_variables, ...)`: only
  the variables listed in `optimizer.variables` are mapped in and handed back out. Anything else is
  read as a constant frozen at trace time, and writes to it are discarded;
* PyTorch runs eagerly and sees everything.

So each piece of training state here is created with the optimizer's public `add_variable` (it
then appears in `optimizer.variables`), once per `(optimizer, name)`. `release_state` takes the
variables off the optimizer again when their owner is done, so a model saved afterwards has
exactly the optimizer variables Keras expects when it loads it.

A released variable is kept aside, not destroyed: when its owner asks for it again (the same
callback in the next `fit`, or a new one under the same name), `state_variable` puts the *same*
variable back, reset to `initial`. A train step traced with it (TensorFlow captures variables,
JAX maps them by their position in `optimizer.variables`) is then still valid, so the next `fit`
needs no retrace (`gradient_hooks.refresh_train_function`).
"""

from __future__ import annotations

import contextlib
import weakref

import keras
from keras import ops

from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer

# optimizer -> {name: variable}; kept outside the optimizer so that TensorFlow's automatic
# tracking never wraps the dict, and so that nothing of ours is written into its config.
_STATE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# optimizer -> {name: variable} taken off the optimizer, kept for `state_variable` to put back.
_RELEASED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _creation_scope(optimizer):
    # TensorFlow's optimizers remember the `tf.distribute` strategy they were built under and
    # create their own variables in it; ours must live in the same one (mirrored per replica).
    # The strategy is only exposed privately, so it is read in this one place.
    strategy = getattr(optimizer, "_distribution_strategy", None)
    if strategy is not None and hasattr(strategy, "scope"):
        return strategy.scope()
    return contextlib.nullcontext()


def state_variable(optimizer, name: str, initial=0.0, shape=(), dtype: str = "float32"):
    """The optimizer-owned, non-trainable variable `name`, created on first use.

    Args:
        optimizer: A Keras optimizer (a `LossScaleOptimizer` is unwrapped: state lives on the
            optimizer that owns the learning rate and the step counter).
        name: A key unique on this optimizer, e.g. `"one_cycle/max_lr"`.
        initial: The value on creation (ignored when the variable exists already).
        shape: Shape of the variable. Defaults to a scalar.
        dtype: Its dtype. Defaults to float32.

    Returns:
        A `keras.Variable` listed in `optimizer.variables`.

    Raises:
        ValueError: for an empty `name`.
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"Argument name must be a non-empty string. Received: name={name!r}")
    target = unscaled_optimizer(optimizer)
    owned = _STATE.setdefault(target, {})
    variable = owned.get(name)
    if variable is None:
        variable = _reuse_released(target, name, initial, tuple(shape), dtype)
        if variable is not None:
            owned[name] = variable
    if variable is None:
        with _creation_scope(target):
            variable = target.add_variable(
                shape=tuple(shape),
                initializer=keras.initializers.Constant(initial),
                dtype=dtype,
                aggregation="only_first_replica",
                name=name.replace("/", "_"),
            )
        owned[name] = variable
    return variable


def state_variables(optimizer, prefix: str = "") -> dict:
    """The state variables on `optimizer` whose names start with `prefix`, by name."""
    owned = _STATE.get(unscaled_optimizer(optimizer), {})
    return {name: v for name, v in owned.items() if name.startswith(prefix)}


def release_state(optimizer, prefix: str) -> None:
    """Take the state variables whose names start with `prefix` off `optimizer`.

    Afterwards `optimizer.variables` is what it would be had they never been created.
    """
    target = unscaled_optimizer(optimizer)
    owned = _STATE.get(target, {})
    released = _RELEASED.setdefault(target, {})
    for name in [n for n in owned if n.startswith(prefix)]:
        variable = owned.pop(name)
        untrack_optimizer_variable(target, variable)
        released[name] = variable


def _reuse_released(optimizer, name, initial, shape, dtype):
    """Put back the variable released under `name`, reset to `initial`, if it still fits."""
    variable = _RELEASED.get(optimizer, {}).pop(name, None)
    if variable is None:
        return None
    if tuple(variable.shape) != shape or keras.backend.standardize_dtype(
        variable.dtype
    ) != keras.backend.standardize_dtype(dtype):
        return None
    track_optimizer_variable(optimizer, variable)
    variable.assign(ops.broadcast_to(ops.cast(initial, dtype), shape))
    return variable


def untrack_optimizer_variable(optimizer, variable) -> None:
    """Remove `variable` from `optimizer.variables`.

    Keras has no public way to do this; its own learning-rate setter uses the private
    `_untrack_variable`, and so do we, here only (`tests/optimizers/test_training_state.py`
    fails if Keras renames it).
    """
    optimizer._untrack_variable(variable)


def track_optimizer_variable(optimizer, variable) -> None:
    """Append an existing `variable` (one we released before) to `optimizer.variables`.

    The counterpart of `untrack_optimizer_variable`: `add_variable` always creates a new
    variable, and Keras's own `add_variable` ends with the private `_track_variable`, used here
    only (`tests/optimizers/test_training_state.py` fails if Keras renames it).
    """
    optimizer._track_variable(variable)
