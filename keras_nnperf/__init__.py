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
    tuning,
)
from keras_nnperf.callbacks.lr_finder import lr_find
from keras_nnperf.diagnostics import diagnose
from keras_nnperf.initializers.baseline import initialize_at_baseline
from keras_nnperf.registry import (
    activation,
    get_activation,
    get_callback,
    get_constraint,
    get_initializer,
    get_layer,
    get_schedule,
    register,
)

__version__ = "0.1.0"

__all__ = [
    "activation",
    "activations",
    "callbacks",
    "constraints",
    "diagnose",
    "diagnostics",
    "get_activation",
    "get_callback",
    "get_constraint",
    "get_initializer",
    "get_layer",
    "get_schedule",
    "initialize_at_baseline",
    "initializers",
    "layers",
    "lr_find",
    "optimizers",
    "register",
    "registry",
    "schedules",
    "tuning",
]
