"""keras_nnperf: make Keras 3 networks train better and faster.

Non-dying activations, variance-preserving initializers, in-graph learning-rate schedules and
their callbacks, training diagnostics, and Keras-Tuner templates. Every public object is
registered by name (see `keras_nnperf.registry`) and with Keras serialization, so saved models
load with no `custom_objects`.
"""

try:
    import keras  # noqa: F401
except ImportError as err:  # Keras itself, or the backend it was told to use, is missing.
    raise ImportError(
        "keras_nnperf needs Keras 3 with a backend. None could be imported "
        f"({err}). Install one with the extra that fits your machine: "
        "pip install 'keras-nnperf[cpu]' (TensorFlow CPU build) or "
        "pip install 'keras-nnperf[tensorflow]' (TensorFlow with GPU support), or install JAX or "
        "PyTorch and set KERAS_BACKEND accordingly."
    ) from err

from keras_nnperf import (
    activations,
    callbacks,
    constraints,
    diagnostics,
    initializers,
    layers,
    optimizers,
    registry,
    schedules,
)
from keras_nnperf.callbacks.lr_finder import lr_find
from keras_nnperf.diagnostics import diagnose
from keras_nnperf.registry import register

__version__ = "0.1.0"


def get_activation(identifier, **kwargs):
    """Resolve an activation: ours by name (`"mish"`, `"rrelu"`), a Keras name, or a callable.

    Parametric activations (`"prelu"`, `"pswish"`, `"pelu"`, `"rrelu"`) come back as layer
    instances, which Keras layers accept as `activation=` and save with the model.
    """
    return registry.get("activation", identifier, **kwargs)


#: Use our names wherever Keras takes an activation: `Dense(64, activation=activation("mish"))`.
activation = get_activation


def get_layer(identifier, **kwargs):
    """Resolve a layer by registered name, class or instance."""
    return registry.get("layer", identifier, **kwargs)


def get_initializer(identifier, **kwargs):
    """Resolve an initializer by name (ours or Keras's), class or instance."""
    return registry.get("initializer", identifier, **kwargs)


def get_constraint(identifier, **kwargs):
    """Resolve a constraint by name (ours or Keras's), class or instance."""
    return registry.get("constraint", identifier, **kwargs)


def get_schedule(identifier, **kwargs):
    """Resolve a learning-rate schedule by registered name, class or instance."""
    return registry.get("schedule", identifier, **kwargs)


def get_callback(identifier, **kwargs):
    """Resolve a callback by registered name, class or instance."""
    return registry.get("callback", identifier, **kwargs)


__all__ = [
    "activation",
    "activations",
    "callbacks",
    "constraints",
    "diagnose",
    "diagnostics",
    "initializers",
    "layers",
    "lr_find",
    "optimizers",
    "schedules",
    "get_activation",
    "get_callback",
    "get_constraint",
    "get_initializer",
    "get_layer",
    "get_schedule",
    "register",
    "registry",
]
