"""Host (NumPy) arrays onto the backend's device, for assigning our variables between steps.

Why this exists: on JAX, `keras.Variable.assign(numpy_array)` and variable creation convert with
`jnp.asarray`, which compiles a small XLA program (`jit(stage)`) for every new shape and dtype;
`keras.initializers.Constant` runs `cast(value) * ones(shape)`, three more. Our state variables
(the packed schedule parameters, the monitors' statistics) have shapes no Keras variable has, so
a first `fit` paid 3-5 such compilations (about 0.1 s on an idle CPU, measured with
`jax_log_compiles`). `jax.device_put` transfers without compiling, and Keras passes a JAX array
of the right dtype through unchanged. Other backends take the NumPy array as it is.

Make a new array for every assignment: JAX's train step donates the buffers of the state it is
given, so an array assigned once is freed by the next step and cannot be assigned again.
"""

from __future__ import annotations

import keras
import numpy as np


def to_device(array: np.ndarray):
    """`array` as the backend's own array where that avoids work (JAX), else unchanged."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.device_put(array)
    return array


def full(shape, value, dtype="float32"):
    """`np.full(shape, value, dtype)` on the device (see `to_device`)."""
    return to_device(np.full(shape, value, dtype=keras.backend.standardize_dtype(dtype)))
