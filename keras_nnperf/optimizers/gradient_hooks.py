"""In-graph gradient hooks: see the gradients the optimizer already receives.

Keras 3 keeps gradients local to the train step, so no callback can see them, and the usual
workaround (a second `GradientTape` pass in a callback) costs several times the training step.
Here, a hook is a function `hook(grads, variables)` that runs **inside the compiled train step**,
each time the optimizer applies gradients. It may update variables (statistics, a learning-rate
multiplier) and may return replacement gradients; returning `None` leaves them as they are.

The hooks wrap the optimizer's `apply` method on the instance. With a `LossScaleOptimizer`
(mixed precision) they wrap the inner optimizer, so they see unscaled gradients and run only on
steps whose gradients are finite. Under a `tf.distribute` strategy they run once per replica, on
that replica's gradients, before the all-reduce.

After adding or removing a hook on a model that has already been trained, call
`refresh_train_function(model)` so the next step is traced again with the hook in place; the
callbacks in this package do that in `on_train_begin`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

GradientHook = Callable[[list, list], Sequence | None]

# Kept outside the optimizer: TensorFlow's auto-tracking would wrap a dict attribute for
# checkpointing, and hooks hold closures that must never be saved.
_HOOKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def unscaled_optimizer(optimizer: Any) -> Any:
    """The optimizer that receives unscaled gradients (the inner one of a `LossScaleOptimizer`)."""
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None and type(optimizer).__name__ == "LossScaleOptimizer":
        return inner
    return optimizer


def add_gradient_hook(optimizer: Any, name: str, hook: GradientHook) -> None:
    """Run `hook(grads, variables)` in-graph every time `optimizer` applies gradients.

    Args:
        optimizer: A Keras optimizer (a `LossScaleOptimizer` is unwrapped).
        name: A key for the hook; adding a hook under an existing name replaces it.
        hook: `hook(grads, variables) -> new_grads or None`. `grads` may contain `None` for
            variables without a gradient; a hook must leave those as `None`.

    Raises:
        ValueError: if `hook` is not callable or `name` is empty.
    """
    if not callable(hook):
        raise ValueError(f"Argument hook must be callable. Received: hook={hook!r}")
    if not name:
        raise ValueError(f"Argument name must be a non-empty string. Received: name={name!r}")
    target = unscaled_optimizer(optimizer)
    hooks = _HOOKS.get(target)
    if hooks is None:
        hooks = {}
        _HOOKS[target] = hooks
        original_apply = target.apply

        def apply(grads, trainable_variables=None):
            grads = list(grads)
            variables = (
                list(trainable_variables)
                if trainable_variables is not None
                else list(target._trainable_variables)
            )
            for each in list(hooks.values()):
                replaced = each(grads, variables)
                if replaced is not None:
                    grads = list(replaced)
            return original_apply(grads, trainable_variables)

        target.apply = apply
    hooks[name] = hook


def remove_gradient_hook(optimizer: Any, name: str) -> None:
    """Remove the hook `name`; once none is left the optimizer's own `apply` is restored."""
    target = unscaled_optimizer(optimizer)
    hooks = _HOOKS.get(target)
    if not hooks or name not in hooks:
        return
    del hooks[name]
    if not hooks:
        del _HOOKS[target]
        del target.apply


def gradient_hook_names(optimizer: Any) -> list[str]:
    """Names of the hooks installed on `optimizer`, in the order they run."""
    return list(_HOOKS.get(unscaled_optimizer(optimizer), {}))


def refresh_train_function(model: Any) -> None:
    """Make the next training step trace anew (after a hook or the learning rate changed).

    `fit` builds its train function before `on_train_begin`, but traces it lazily on the first
    step, so calling this from `on_train_begin` costs one trace and nothing per step.
    """
    if getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)
