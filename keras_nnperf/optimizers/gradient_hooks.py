"""In-graph gradient hooks: see the gradients the optimizer already receives, on every backend.

Keras 3 keeps gradients local to the train step, so no callback can see them, and the usual
workaround (a second `GradientTape` pass in a callback) costs several times the training step.
Here, a hook is a function `hook(grads, variables)` that runs **inside the compiled train step**,
each time the optimizer applies gradients. It may update variables (statistics, a learning-rate
multiplier) and may return replacement gradients; returning `None` leaves them as they are.

Every variable a hook reads or writes must be optimizer-owned state
(`keras_nnperf.optimizers.training_state.state_variable`): JAX's trainer runs the optimizer in
`optimizer.stateless_apply`, which carries only `optimizer.variables` through the step.

**Where the hook runs.** The one call every Keras trainer makes with the gradients is the
optimizer's `apply`: TensorFlow's `apply_gradients(zip(grads, vars))` calls
`apply(grads, vars)`; PyTorch calls `apply(grads, vars)`; JAX calls
`stateless_apply(optimizer_variables, grads, vars)`, which calls `apply(grads)` *without* the
variables inside a `StatelessScope`. Keras has no public extension point there, so `_wrap_apply`
shadows `apply` on the optimizer instance (the only place that does; `test_gradient_hooks.py`
fails if Keras changes that contract). We chose this over a wrapper optimizer because a wrapper
must replace `model.optimizer`, which changes what the user's code and saved models see, and
must be undone on every exit path; the shadow is invisible to saving (`get_config` is the
class's) and is removed when the last hook goes. When `apply` gets no variables (JAX), the hook
gets the model's `trainable_variables`, in the order Keras built the optimizer with, bound by
`refresh_train_function(model)` (every callback calls it in `on_train_begin`).

With a `LossScaleOptimizer` (mixed precision) hooks go on the inner optimizer, so they see
unscaled gradients and run only on steps whose gradients are finite. Under a `tf.distribute`
strategy they run once per replica, on that replica's gradients, before the all-reduce.

**No retrace tax.** `refresh_train_function(model)` makes the next step retrace only when what
the traced step reads really changed: the hooks (by name and `key`), the identity and order of
`optimizer.variables`, or the learning-rate schedule object. A callback that removes its hook and
releases its state at `on_train_end`, then puts back the same hook (same `key`) and the same
state variables at the next `on_train_begin`, costs no trace in the second `fit`; a plain `fit`
after it retraces once, without the hook.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import keras

from keras_nnperf.optimizers import fit_guard

GradientHook = Callable[[list, list], Sequence | None]

# Kept outside the optimizer: TensorFlow's auto-tracking would wrap a dict attribute for
# checkpointing, and hooks hold closures that must never be saved.
_HOOKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # optimizer -> {name: _Hook}
_BOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # optimizer -> [variables]
# The last train function traced for a model (a StepFunction), to reuse when it fits again, is
# kept on the model itself under this name: the step's function closes over the model, so in a
# weak-keyed registry the value would keep its own key alive and no hooked model would ever be
# freed (measured: every model of an in-process search stayed in memory). On the model, the two
# form an ordinary reference cycle that the garbage collector frees.
_LAST_TRACED_ATTRIBUTE = "_nnperf_last_traced_step"


class _Hook:
    __slots__ = ("function", "key", "after")

    def __init__(self, function, key, after=None):
        self.function = function
        self.key = key
        self.after = after


def unscaled_optimizer(optimizer: Any) -> Any:
    """The optimizer that really applies the update, inside any wrappers around it.

    Keras's `LossScaleOptimizer` and our wrappers (`Lookahead`, the clipping optimizers:
    subclasses of `optimizers.wrapper.OptimizerWrapper`, which sets `wraps_inner_optimizer`)
    delegate `learning_rate` and `iterations` to their `inner_optimizer` and call its `apply`:
    hooks and scheduled rates go on that one, so they
    see unscaled gradients and set the rate that is really applied.
    """
    inner = getattr(optimizer, "inner_optimizer", None)
    wrapper = type(optimizer).__name__ == "LossScaleOptimizer" or getattr(
        type(optimizer), "wraps_inner_optimizer", False
    )
    if inner is not None and wrapper:
        return unscaled_optimizer(inner)
    return optimizer


def add_gradient_hook(
    optimizer: Any, name: str, hook: GradientHook, key: Any = None, after=None
) -> None:
    """Run `hook(grads, variables)` in-graph every time `optimizer` applies gradients.

    Args:
        optimizer: A Keras optimizer (a `LossScaleOptimizer` is unwrapped).
        name: A key for the hook; adding a hook under an existing name replaces it.
        hook: `hook(grads, variables) -> new_grads or None`. `grads` may contain `None` for
            variables without a gradient; a hook must leave those as `None`.
        key: What the traced step depends on besides optimizer variables: two hooks with equal
            `name` and `key` trace to the same step, so putting the hook back under the same
            key costs no retrace. Defaults to the hook itself (any new hook retraces).
        after: Optional `after()`, run when that `apply` returns or raises: bookkeeping that
            must not outlive one eager step (in a traced step it runs while tracing).

    Raises:
        ValueError: if `hook` is not callable or `name` is empty.
    """
    if not callable(hook):
        raise ValueError(f"Argument hook must be callable. Received: hook={hook!r}")
    if not name or not isinstance(name, str):
        raise ValueError(f"Argument name must be a non-empty string. Received: name={name!r}")
    target = unscaled_optimizer(optimizer)
    hooks = _HOOKS.get(target)
    if hooks is None:
        hooks = {}
        _HOOKS[target] = hooks
        _wrap_apply(target, hooks)
    hooks[name] = _Hook(hook, hook if key is None else key, after)


def remove_gradient_hook(optimizer: Any, name: str) -> None:
    """Remove the hook `name`; once none is left the optimizer's own `apply` is restored."""
    target = unscaled_optimizer(optimizer)
    hooks = _HOOKS.get(target)
    if not hooks or name not in hooks:
        return
    del hooks[name]
    if not hooks:
        del _HOOKS[target]
        _unwrap_apply(target)


def gradient_hook_names(optimizer: Any) -> list[str]:
    """Names of the hooks installed on `optimizer`, in the order they run."""
    return list(_HOOKS.get(unscaled_optimizer(optimizer), {}))


def _wrap_apply(target, hooks: dict) -> None:
    """Shadow `target.apply` on the instance so the hooks run before Keras's own `apply`.

    The contract this relies on (checked by `test_apply_contract_*`): every trainer hands the
    gradients to `optimizer.apply`, with the variables (TensorFlow, PyTorch) or without them
    from `stateless_apply` (JAX), in the order of `model.trainable_variables`.
    """
    keras_apply = target.apply

    def apply(grads, trainable_variables=None):
        grads = list(grads)
        if trainable_variables is not None:
            variables = list(trainable_variables)
        else:
            variables = _BOUND.get(target)
            if variables is None or len(variables) != len(grads):
                raise ValueError(
                    "A gradient hook ran in an `apply(grads)` call without variables (JAX's "
                    "stateless_apply), but no matching variables were bound to the optimizer. "
                    "Call keras_nnperf.optimizers.refresh_train_function(model) after adding "
                    f"hooks. Received: {len(grads)} gradients, bound variables: "
                    f"{None if variables is None else len(variables)}"
                )
        running = list(hooks.values())
        try:
            for each in running:
                replaced = each.function(grads, variables)
                if replaced is not None:
                    grads = list(replaced)
            return keras_apply(grads, trainable_variables)
        finally:
            for each in running:
                if each.after is not None:
                    each.after()

    target.apply = apply


def _unwrap_apply(target) -> None:
    vars(target).pop("apply", None)


def bind_trainable_variables(model) -> None:
    """Give `model.optimizer`'s hooks `model.trainable_variables` for variable-less `apply` calls.

    Keras builds the optimizer with `model.trainable_variables` and JAX's trainer differentiates
    with respect to them in that order, so they match the gradients one to one.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        _BOUND[unscaled_optimizer(optimizer)] = list(model.trainable_variables)


class TraceSignature:
    """What a traced train step depends on: hooks (name and key), optimizer variables, schedule.

    Variables are compared by identity: TensorFlow captures them, so their order does not matter
    (and its optimizers create their slots while tracing, after our state); JAX maps them by
    position in `optimizer.variables`, so there the order must match too. Hook keys compare
    with `==`. The schedule compares by identity, and by its `trace_structure` if it has one
    (the Python choices its traced formula makes, e.g. `ComposedLearningRate`'s parts).
    """

    def __init__(self, hooks, variables, schedule):
        self.hooks = hooks
        self.variables = variables
        self.schedule = schedule
        self.structure = getattr(schedule, "trace_structure", None)

    def matches(self, other: TraceSignature | None) -> bool:
        """True when a step traced under `other` is valid under this signature."""
        if other is None or len(self.variables) != len(other.variables):
            return False
        if keras.backend.backend() == "jax":
            if any(a is not b for a, b in zip(self.variables, other.variables, strict=True)):
                return False
        elif {id(v) for v in self.variables} != {id(v) for v in other.variables}:
            return False
        try:
            return (
                self.hooks == other.hooks
                and self.schedule is other.schedule
                and self.structure == other.structure
            )
        except Exception:  # noqa: BLE001 - a key without a usable `==` counts as changed
            return False


def _learning_rate_source(optimizer):
    """The schedule or callable behind the optimizer's learning rate, or None for a variable.

    Swapping one schedule for another changes the traced step without changing any variable.
    Keras exposes only the current value (`optimizer.learning_rate`), so the private
    `_learning_rate` is read here only (`test_gradient_hooks.py` fails if Keras renames it).
    """
    source = getattr(optimizer, "_learning_rate", None)
    return None if source is None or hasattr(source, "assign") else source


def trace_signature(model) -> TraceSignature:
    """The `TraceSignature` of `model`'s train step as it would be traced now."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return TraceSignature((), (), None)
    target = unscaled_optimizer(optimizer)
    hooks = tuple((name, hook.key) for name, hook in _HOOKS.get(target, {}).items())
    return TraceSignature(hooks, tuple(optimizer.variables), _learning_rate_source(target))


def note_traced(model, step) -> None:
    """Record that `step` (a `fit_guard.StepFunction`) was just traced with the current state."""
    step.traced_signature = trace_signature(model)
    # object.__setattr__: not through Keras's attribute tracking (a step is not model state).
    object.__setattr__(model, _LAST_TRACED_ATTRIBUTE, step)


def last_traced_step(model):
    """The last train step traced for `model` with our hooks, or `None`."""
    return getattr(model, _LAST_TRACED_ATTRIBUTE, None)


def forget_last_traced_step(model) -> None:
    """Drop the remembered traced step of `model` (the next change of hooks retraces)."""
    vars(model).pop(_LAST_TRACED_ATTRIBUTE, None)


def ensure_current(model) -> None:
    """Make `model.train_function` one that matches the current hooks, retracing only if needed.

    The current function stays if it was traced with the current signature, or not traced yet;
    else the last traced function comes back if it matches (our callbacks put back the hooks
    they removed at the end of the previous fit); else Keras makes a new one, which traces on
    its first call. Making one costs nothing until it is called, and this runs between steps
    (at the start of `fit` and from `refresh_train_function`), never inside one.
    """
    current = fit_guard.step_function(model, "train")
    if current is None:
        return
    signature = trace_signature(model)
    if current.called and signature.matches(current.traced_signature):
        return
    last = last_traced_step(model)
    if last is not None and last is not current and signature.matches(last.traced_signature):
        model.train_function = last
        return
    if not current.called:
        return
    fit_guard.make_step_function(model, "train")


def refresh_train_function(model: Any, force: bool = False) -> None:
    """Make the next step use a train function traced with the current hooks and state.

    Cheap to call (once per `fit`, from `on_train_begin` or `on_train_end`): a retrace happens
    only when the hooks (name, `key`), the optimizer's variables or its learning-rate schedule
    differ from those the current step was traced with, and the last traced step is reused when
    they match it again. On the first `fit` nothing was traced yet, so nothing is retraced.

    Args:
        model: The Keras model.
        force: Retrace whatever changed, for changes the signature cannot see (for example a
            Python constant a hook reads at trace time, changed under the same `key`).
    """
    bind_trainable_variables(model)
    if getattr(model, "train_function", None) is None:
        return  # made and traced by the next fit, with the hooks as they are then
    fit_guard.intercept_step_functions(model)
    if force:
        forget_last_traced_step(model)
        fit_guard.make_step_function(model, "train")
        return
    fit_guard.wrap_step_function(model, "train")
    ensure_current(model)
