"""The whole public API, imported (and every object registered) by `import keras_nnperf`.

It lives here, not in `keras_nnperf/__init__.py`, so that the `nnperf` command can start
without importing Keras (see `keras_nnperf.__init__`).
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
    compression,
    constraints,
    diagnostics,
    distillation,
    initializers,
    layers,
    optimizers,
    registry,
    schedules,
    tabular,
    transfer,
    tuning,
)
from keras_nnperf.callbacks.lr_finder import lr_find
from keras_nnperf.compilation_cache import enable_jax_compilation_cache
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

__all__ = [
    "activation",
    "activations",
    "callbacks",
    "compression",
    "constraints",
    "diagnose",
    "diagnostics",
    "distillation",
    "enable_jax_compilation_cache",
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
    "tabular",
    "transfer",
    "tuning",
]
