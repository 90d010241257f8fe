"""One registry, by name, for everything keras_nnperf exports.

Registering an object does two things at once:

* it registers the object with `keras.saving.register_keras_serializable(package="keras_nnperf")`,
  so a saved model that uses it loads with `keras.models.load_model(path)` and no `custom_objects`;
* it records the object under a snake_case name, so that name works wherever a string is natural:
  `hp.Choice("activation", ["relu", "mish", "rrelu"])`, `get_activation("prelu")`, the CLI.

Registration happens when `keras_nnperf` is imported, so **import it before `load_model`** in a
process that loads a saved model: Keras 3 has no entry point through which a package could
register its objects for loading, and imports modules by itself only for its own packages. Without
the import, Keras raises `TypeError: Could not locate class 'PReLU'`, and the config it prints
names us (`'registered_name': 'keras_nnperf>PReLU'`).

`keras.activations.get("mish_fast")` rejects custom names even when they are registered with Keras,
so string look-up goes through `get(...)` (or the `get_activation`-style shortcuts in the package
root), which falls back to Keras's own names for anything that is not ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import keras

PACKAGE = "keras_nnperf"

KINDS = (
    "activation",
    "layer",
    "initializer",
    "constraint",
    "schedule",
    "callback",
    "optimizer",
    # Models that are components rather than architectures (`Distiller`): registered so a saved
    # one loads with no `custom_objects`, and found by name like the rest.
    "model",
)

# Callbacks are never part of a saved model, and two of them share a class name with a schedule
# (`WarmUp`, `OneCycle`), so they live in our registry only.
_NOT_KERAS_SERIALIZABLE = frozenset({"callback"})

_REGISTRY: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}

# Keras's own look-up for the kinds where it has one; used when a name is not ours.
_KERAS_GETTERS: dict[str, Callable[[Any], Any]] = {
    "activation": keras.activations.get,
    "initializer": keras.initializers.get,
    "constraint": keras.constraints.get,
}


def _check_kind(kind: str) -> None:
    if kind not in _REGISTRY:
        raise ValueError(f"Argument kind must be one of {list(KINDS)}. Received: kind={kind!r}")


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def snake_case(name: str) -> str:
    """Return the registry name of a class or function name (`PReLU` -> `prelu`)."""
    # `ReLU` is one word; an acronym ends where a capitalised word starts (`MCDropout`,
    # `LRFinder`), but a lone capital is a prefix (`PReLU`, `PSwish`).
    name = name.replace("ReLU", "Relu")
    name = re.sub(r"([A-Z]{2,})([A-Z][a-z]{2,})", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def register(kind: str, name: str | None = None, *, aliases: tuple[str, ...] = ()):
    """Class or function decorator that registers a public object under `kind`.

    Args:
        kind: One of `KINDS`.
        name: The string users type; defaults to the snake_case form of the object's name.
        aliases: Further names for the same object (for example `"silu"` for `"swish"`).

    Returns:
        The decorator; it returns the object unchanged.

    Raises:
        ValueError: for an unknown `kind`, or a name already taken by another object.

    Example:
    ```python
    @register("activation")
    def mish(x):
        ...
    ```
    """
    _check_kind(kind)

    def decorator(obj):
        if kind not in _NOT_KERAS_SERIALIZABLE:
            registered_name = f"{PACKAGE}>{obj.__name__}"
            # The same class may be registered under two kinds (PReLU is a layer and an
            # activation); Keras only needs to know it once.
            if keras.saving.get_registered_object(registered_name) is not obj:
                keras.saving.register_keras_serializable(package=PACKAGE)(obj)
        table = _REGISTRY[kind]
        for key in (name or snake_case(obj.__name__), *aliases):
            key = _normalize(key)
            if key in table and table[key] is not obj:
                raise ValueError(
                    f"The {kind} name {key!r} is already registered to {table[key]!r}. "
                    f"Received: {obj!r}"
                )
            table[key] = obj
        return obj

    return decorator


def names(kind: str) -> list[str]:
    """Sorted names registered under `kind` (our own; Keras's names work too in `get`)."""
    _check_kind(kind)
    return sorted(_REGISTRY[kind])


def lookup(kind: str, name: str) -> Any:
    """Return the registered object (class or function) for `name`, without instantiating it.

    Raises:
        ValueError: if `name` is not registered under `kind`; the message lists the names that are.
    """
    _check_kind(kind)
    found = _find(kind, name)
    if found is not None:
        return found
    raise ValueError(
        f"Unknown {kind} {name!r}. keras_nnperf {kind}s: {names(kind)}. Received: {kind}={name!r}"
    )


def _find(kind: str, name: str) -> Any:
    """The object registered as `name`, matched without case, dashes or underscores."""
    table = _REGISTRY[kind]
    key = _normalize(name)
    if key in table:
        return table[key]
    compact = key.replace("_", "")
    for registered, obj in table.items():
        if registered.replace("_", "") == compact:
            return obj
    return None


def get(kind: str, identifier: Any, **kwargs: Any) -> Any:
    """Resolve `identifier` to a ready-to-use object of `kind`.

    * `None` gives `None`.
    * A string is looked up in our registry first, then in Keras's own (`keras.activations.get`,
      `keras.initializers.get`, `keras.constraints.get`). A registered class is instantiated with
      `kwargs`; a registered function is returned as it is.
    * A class is instantiated with `kwargs`; any other callable or instance passes straight through.
    * A dict is taken as a Keras config and deserialized.

    Raises:
        ValueError: for a name that neither we nor Keras know, listing ours; or for `kwargs` given
            with something that cannot take them.
    """
    _check_kind(kind)
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str):
        found = _find(kind, identifier)
        if found is not None:
            return _instantiate(kind, found, kwargs, identifier)
        keras_get = _KERAS_GETTERS.get(kind)
        if keras_get is not None and not kwargs:
            try:
                return keras_get(identifier)
            except (ValueError, TypeError):
                pass
        known = names(kind)
        also = f" or any name `keras.{kind}s.get` accepts" if keras_get is not None else ""
        raise ValueError(
            f"Unknown {kind} {identifier!r}. Use one of {known}{also}. "
            f"Received: {kind}={identifier!r}"
        )
    if isinstance(identifier, type):
        return _instantiate(kind, identifier, kwargs, identifier.__name__)
    if callable(identifier) or not kwargs:
        if kwargs:
            raise ValueError(
                f"Keyword arguments {sorted(kwargs)} need a {kind} name or class. "
                f"Received: {kind}={identifier!r}"
            )
        return identifier
    raise ValueError(f"Cannot interpret {kind} {identifier!r}. Received: {kind}={identifier!r}")


def _instantiate(kind: str, obj: Any, kwargs: dict[str, Any], label: str) -> Any:
    if isinstance(obj, type):
        return obj(**kwargs)
    if kwargs:
        raise ValueError(
            f"The {kind} {label!r} is a function and takes no keyword arguments. "
            f"Received: {sorted(kwargs)}"
        )
    return obj


def get_activation(identifier, **kwargs):
    """Resolve an activation: ours by name (`"mish"`, `"rrelu"`), a Keras name, or a callable.

    Parametric activations (`"prelu"`, `"pswish"`, `"pelu"`, `"rrelu"`) come back as layer
    instances, which Keras layers accept as `activation=` and save with the model.
    """
    return get("activation", identifier, **kwargs)


#: Use our names wherever Keras takes an activation: `Dense(64, activation=activation("mish"))`.
activation = get_activation


def get_layer(identifier, **kwargs):
    """Resolve a layer by registered name, class or instance."""
    return get("layer", identifier, **kwargs)


def get_initializer(identifier, **kwargs):
    """Resolve an initializer by name (ours or Keras's), class or instance."""
    return get("initializer", identifier, **kwargs)


def get_constraint(identifier, **kwargs):
    """Resolve a constraint by name (ours or Keras's), class or instance."""
    return get("constraint", identifier, **kwargs)


def get_schedule(identifier, **kwargs):
    """Resolve a learning-rate schedule by registered name, class or instance."""
    return get("schedule", identifier, **kwargs)


def get_callback(identifier, **kwargs):
    """Resolve a callback by registered name, class or instance."""
    return get("callback", identifier, **kwargs)
