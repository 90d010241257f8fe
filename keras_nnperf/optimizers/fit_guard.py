"""Undo what a callback installed when `fit` ends by an exception, on every backend.

Keras calls no callback when `fit` raises: TensorFlow's and PyTorch's trainers call
`on_train_end` only on a normal exit, and JAX's `finally` calls it only when training finished.
A callback that installed a gradient hook, optimizer state or a schedule would leave it behind,
and the next `fit` would still run it. Here a callback registers, from inside `fit` (usually in
`on_train_begin`), a zero-argument cleanup with `guard_fit(model, key, cleanup)` and removes it
with `unguard_fit(model, key)` in `on_train_end`, after doing the same cleanup itself. A
registered cleanup runs, once, in the first of these moments:

* **In the step.** The model's train and test functions are wrapped; an exception escaping one
  (`KeyboardInterrupt` during a step, a layer raising, on TensorFlow also a data generator,
  which runs inside the step, and anything in validation) runs every cleanup registered on the
  model, newest first, then propagates unchanged. The end-of-data signals (`StopIteration`,
  TensorFlow's `OutOfRangeError`) are not failures and run nothing.
* **At the start of the next `fit`** (or `train_on_batch`), with or without our callbacks, when
  the exception happened between steps: in another callback, in data fetched outside the step
  (JAX, PyTorch), or an interrupt there. Guards still registered when the next `fit` makes its
  train function belong to a `fit` that is over, so their cleanups run then, before its
  callbacks start and before its first step. A cleanup registered with `stale=False` (restoring
  weights, say, which must not overwrite what the user did since) is dropped instead.

What is not covered: nothing runs between an interrupted `fit` and the next call that trains
the model, so `save`, `evaluate` or `predict` in between see the interrupted state (for an
exception between steps; one in the step is cleaned at once).

How it works: Keras has no public hook around its step functions, so the model's own
`make_train_function` and `make_test_function` are shadowed on the instance (in
`intercept_step_functions`, the one place that does it, with a test that fails if Keras's
trainers stop calling them at the start of `fit`). The shadow calls Keras's method and wraps the
function it sets (`model.train_function`) in a `StepFunction`, which forwards the call. The same
wrapper records what the function was traced with, which `gradient_hooks.refresh_train_function`
uses to retrace only when the set of hooks really changed.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import keras

_END_OF_DATA = ("OutOfRangeError",)


@dataclasses.dataclass
class _Guard:
    cleanup: Callable[[], None]
    stale: bool


@dataclasses.dataclass
class _ModelGuards:
    guards: dict = dataclasses.field(default_factory=dict)


# model -> _ModelGuards; outside the model so Keras's and TensorFlow's attribute tracking never
# sees it.
_GUARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def guard_fit(model, key: str, cleanup: Callable[[], None], *, stale: bool = True) -> None:
    """Run `cleanup()` if the current `fit` of `model` ends by an exception.

    Call it from inside `fit` (a callback's `on_train_begin` or later), and call
    `unguard_fit(model, key)` in `on_train_end` after cleaning up yourself.

    Args:
        model: The Keras model being fitted.
        key: A name unique among the guards of `model`; registering it again replaces the
            previous cleanup.
        cleanup: A function of no arguments. It runs at most once, newest guard first.
        stale: Also run `cleanup` when the end of the interrupted `fit` is only noticed at the
            start of the next one (an exception between steps). Defaults to True; pass False
            for actions that only make sense right at the exception (restoring weights).

    Raises:
        ValueError: for an empty `key` or a `cleanup` that is not callable.

    Example:
    ```python
    class MyHook(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            install(self.model)
            guard_fit(self.model, "my_hook", lambda: uninstall(self.model))

        def on_train_end(self, logs=None):
            uninstall(self.model)
            unguard_fit(self.model, "my_hook")
    ```
    """
    if not key or not isinstance(key, str):
        raise ValueError(f"Argument key must be a non-empty string. Received: key={key!r}")
    if not callable(cleanup):
        raise ValueError(f"Argument cleanup must be callable. Received: cleanup={cleanup!r}")
    intercept_step_functions(model)
    entry = _GUARDS.setdefault(model, _ModelGuards())
    entry.guards.pop(key, None)  # re-registering moves it to the newest position
    entry.guards[key] = _Guard(cleanup, bool(stale))


def unguard_fit(model, key: str) -> None:
    """Forget the cleanup registered under `key` (no-op when there is none)."""
    entry = _GUARDS.get(model)
    if entry is not None:
        entry.guards.pop(key, None)


def guarded_keys(model) -> list[str]:
    """The keys of the cleanups registered on `model`, oldest first."""
    entry = _GUARDS.get(model)
    return list(entry.guards) if entry is not None else []


def run_cleanups(model, *, stale: bool) -> None:
    """Run (newest first) and forget every cleanup registered on `model`.

    Args:
        model: The model.
        stale: True when the `fit` they belong to ended unnoticed: cleanups registered with
            `stale=False` are then dropped without running.

    A cleanup that raises is reported with a `RuntimeWarning` and the others still run, so that
    the exception that ended `fit` is the one the user sees.
    """
    entry = _GUARDS.get(model)
    if entry is None or not entry.guards:
        return
    guards = list(entry.guards.items())
    entry.guards.clear()
    for key, guard in reversed(guards):
        if stale and not guard.stale:
            continue
        try:
            guard.cleanup()
        except Exception as error:  # noqa: BLE001 - reported, and the fit's own error wins
            warnings.warn(
                f"Cleanup {key!r} after an interrupted fit failed: {error!r}",
                RuntimeWarning,
                stacklevel=2,
            )


def _is_end_of_data(error: BaseException) -> bool:
    # Keras ends an epoch of unknown length by catching these around the step; they are not
    # failures. TensorFlow's error is recognized by name so TensorFlow is never imported here.
    return (
        isinstance(error, (StopIteration, StopAsyncIteration))
        or type(error).__name__ in _END_OF_DATA
        and "tensorflow" in sys.modules
    )


def _sync_backend_state(model) -> None:
    # JAX's trainer keeps the training state outside the variables during an epoch and writes it
    # back in its `finally`; write it back now, so cleanups read and write the real variables and
    # the trainer's own write-back (a no-op once synced) does not undo a restore.
    sync = getattr(model, "jax_state_sync", None)
    if callable(sync):
        sync()


class StepFunction:
    """A Keras step function (`model.train_function`, `model.test_function`) plus our bookkeeping.

    Calls pass straight through. An exception that is not an end-of-data signal runs the
    model's guards (see the module docstring). For the train function it also records what the
    function was traced with (`traced_signature`, after its first call), which
    `gradient_hooks.refresh_train_function` compares with the current hooks.

    Attributes not defined here (`get_concrete_function`, ...) are those of the wrapped function.
    """

    def __init__(self, model, function, kind: str):
        self._model = weakref.ref(model)
        self.function = function
        self.kind = kind
        self.called = False
        self.traced_signature = None

    def __call__(self, *args, **kwargs):
        model = self._model()
        first_call = not self.called
        self.called = True
        try:
            outputs = self.function(*args, **kwargs)
        except BaseException as error:
            if model is not None and not _is_end_of_data(error):
                _sync_backend_state(model)
                run_cleanups(model, stale=False)
            raise
        if first_call and self.kind == "train" and model is not None:
            # Recorded after the trace: optimizers may create their variables while tracing.
            from keras_nnperf.optimizers.gradient_hooks import note_traced

            note_traced(model, self)
        return outputs

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["function"], name)


def step_function(model, kind: str = "train") -> StepFunction | None:
    """The `StepFunction` wrapping `model.<kind>_function`, or None when it is not wrapped."""
    function = getattr(model, f"{kind}_function", None)
    return function if isinstance(function, StepFunction) else None


def wrap_step_function(model, kind: str = "train") -> StepFunction | None:
    """Wrap `model.<kind>_function` in a `StepFunction` if it is not already; return it.

    A function Keras made before we wrapped it may or may not have been traced: it is marked
    as called with an unknown signature, so the next check makes a new one (free when it was
    never traced, and needed when it was).
    """
    attribute = f"{kind}_function"
    function = getattr(model, attribute, None)
    if function is None or isinstance(function, StepFunction):
        return function
    wrapped = StepFunction(model, function, kind)
    wrapped.called = True
    setattr(model, attribute, wrapped)
    return wrapped


def make_step_function(model, kind: str = "train") -> StepFunction | None:
    """Let Keras make a new `model.<kind>_function` (it traces on first call) and wrap it."""
    intercept_step_functions(model)
    if kind == "train":
        _distinct_jax_train_step(model)
    getattr(model, f"make_{kind}_function")(force=True)
    return step_function(model, kind)


def _distinct_jax_train_step(model) -> None:
    """On JAX, give the next `jax.jit` a train step it has never seen, so it really retraces.

    Keras's JAX trainer jits `model.train_step`, a bound method: bound methods of one object
    compare equal, and `jax.jit` keeps its traces keyed by the function and the shapes of the
    state. A new `jit` of the same model, with state of the same shapes, would reuse a trace made
    with other hooks (hook closures are invisible to it). A fresh function per retrace, calling
    the class's `train_step` (a user's override included), is a key JAX has not traced yet.
    """
    if keras.backend.backend() != "jax":
        return
    method = type(model).train_step

    def train_step(state, data):
        return method(model, state, data)

    object.__setattr__(model, "train_step", train_step)


def intercept_step_functions(model) -> None:
    """Shadow `model.make_train_function` / `make_test_function` on the instance, once.

    Keras's trainers (TensorFlow, JAX, PyTorch) call `make_train_function()` at the start of
    `fit` and `train_on_batch`, before `on_train_begin`, and `make_test_function()` at the start
    of `evaluate`. These are the only moments we need and Keras offers no public hook there. The
    shadow (1) at the start of training runs the cleanups of a `fit` that ended unnoticed, then
    (2) calls Keras's own method and wraps the function it set. `force=True` calls (a callback
    rebuilding the step after changing `trainable`, as Keras's docs advise) are mid-`fit`, so they
    only wrap. `tests/optimizers/test_fit_guard.py` fails if Keras stops calling these methods.
    """
    if getattr(model, "_nnperf_step_functions_intercepted", False):
        return
    for kind in ("train", "test"):
        shadow = _shadow_make_function(model, kind, getattr(model, f"make_{kind}_function"))
        object.__setattr__(model, f"make_{kind}_function", shadow)
    object.__setattr__(model, "_nnperf_step_functions_intercepted", True)
    # Functions Keras made before we looked may have been traced: wrapped as "unknown".
    wrap_step_function(model, "train")
    wrap_step_function(model, "test")


def _shadow_make_function(model, kind: str, keras_method):
    """The shadow of `model.make_<kind>_function` (see `intercept_step_functions`)."""
    attribute = f"{kind}_function"

    def make(force=False):
        if kind == "train" and not force:
            run_cleanups(model, stale=True)
        before = getattr(model, attribute, None)
        result = keras_method(force=force)
        made = getattr(model, attribute, None)
        if made is not None and made is not before and not isinstance(made, StepFunction):
            # Keras just made it here: not traced yet.
            setattr(model, attribute, StepFunction(model, made, kind))
        wrapped = wrap_step_function(model, kind)
        if wrapped is not None and kind == "train" and not force:
            # A new fit, before its callbacks: a step traced with hooks that are gone is put
            # aside (the callbacks may put the same hooks back and get it back).
            from keras_nnperf.optimizers.gradient_hooks import ensure_current

            ensure_current(model)
            wrapped = step_function(model, kind)
        return wrapped if result is not None else result

    return make


def intercepted(model: Any) -> bool:
    """Whether `model`'s step functions are wrapped by this module."""
    return bool(getattr(model, "_nnperf_step_functions_intercepted", False))
