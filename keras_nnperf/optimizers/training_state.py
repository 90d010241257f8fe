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

**Saving while they are on.** A `ModelCheckpoint` (or any `model.save`) that runs during `fit`
would write our variables with the optimizer's: Keras's `load_own_variables` then finds more
saved variables than the fresh optimizer has, warns "Skipping variable loading for optimizer" and
loads none of them. So while an optimizer holds our state, its `save_own_variables` and
`load_own_variables` are shadowed on the instance (`_shadow_saving`) to write and read only the
variables Keras itself created, in Keras's own layout, which a fresh optimizer of the same
configuration loads (docs/backends.md, "Saving during fit", says what the file holds while a
learning-rate callback runs). The shadow goes with the last state variable.
"""

from __future__ import annotations

import contextlib
import types
import weakref

import keras

from keras_nnperf import device_arrays
from keras_nnperf.optimizers.gradient_hooks import (
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)

# optimizer -> {name: variable}; kept outside the optimizer so that TensorFlow's automatic
# tracking never wraps the dict, and so that nothing of ours is written into its config.
_STATE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# optimizer -> {name: variable} taken off the optimizer, kept for `state_variable` to put back.
_RELEASED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# optimizer holding state -> the optimizers whose saving we shadowed for it (itself, and the
# `LossScaleOptimizer` around it, whose `variables` include the inner optimizer's).
_SHADOWED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
                initializer=_host_constant(initial),
                dtype=dtype,
                aggregation="only_first_replica",
                name=name.replace("/", "_"),
            )
        owned[name] = variable
    _shadow_saving(target, optimizer)
    return variable


def _host_constant(initial):
    """An initializer that fills the variable from the host, with no backend op to compile.

    Why not `keras.initializers.Constant`: see `keras_nnperf.device_arrays`.
    """

    def initializer(shape, dtype=None):
        return device_arrays.full(shape, initial, dtype or "float32")

    return initializer


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
    if not owned:
        _unshadow_saving(target)


def uninstall_hook(model, optimizer, hook: str, prefix: str) -> None:
    """Undo what a monitoring callback installed: its gradient hook, its state, its traced step.

    Removes the hook `hook`, releases the state variables under `prefix`, and drops the traced
    train step if it was traced with the hook (a later fit with the same hooks reuses it).
    """
    remove_gradient_hook(optimizer, hook)
    release_state(optimizer, prefix)
    refresh_train_function(model)


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
    # A host array: one assign, without the eager cast and broadcast ops (measured ~1 ms per
    # variable per fit on TensorFlow, and a fit can reuse about 25 of them).
    variable.assign(device_arrays.full(shape, initial, dtype))
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


def keras_variables(optimizer) -> list:
    """`optimizer.variables` without our state: the variables Keras itself created, in order."""
    ours = {id(v) for v in _STATE.get(unscaled_optimizer(optimizer), {}).values()}
    return [v for v in optimizer.variables if id(v) not in ours]


def _save_keras_variables(optimizer, store) -> None:
    # Keras's `BaseOptimizer.save_own_variables` layout (`store[str(i)]` for the i-th variable)
    # over the variables it created; `test_checkpoint_mid_fit.py` loads the result with Keras's
    # own `load_own_variables`, so it fails if that layout changes.
    for i, variable in enumerate(keras_variables(optimizer)):
        store[str(i)] = variable.numpy()


def _load_keras_variables(optimizer, store) -> None:
    variables = keras_variables(optimizer)
    if len(store.keys()) != len(variables):
        # Keras's own message and behaviour for a mismatch (warn, load nothing).
        return type(optimizer).load_own_variables(optimizer, store)
    for i, variable in enumerate(variables):
        variable.assign(store[str(i)])


def _shadow_saving(target, optimizer) -> None:
    """Make `target` (and `optimizer` wrapping it) save and load only Keras's own variables.

    Keras has no extension point to leave a variable out of a saved optimizer, so the two
    methods are shadowed on the instance, like `apply` in `gradient_hooks`; removing the
    instance attributes restores the class's methods.
    """
    shadowed = _SHADOWED.setdefault(target, weakref.WeakSet())
    for each in {id(target): target, id(optimizer): optimizer}.values():
        if each not in shadowed:
            each.save_own_variables = types.MethodType(_save_keras_variables, each)
            each.load_own_variables = types.MethodType(_load_keras_variables, each)
            shadowed.add(each)


def _unshadow_saving(target) -> None:
    for each in list(_SHADOWED.pop(target, ())):
        for method in ("save_own_variables", "load_own_variables"):
            each.__dict__.pop(method, None)
