"""Rebuild a layer or model in another dtype with the same weights, for precise checks.

Float32 central differences are accurate to about 1e-3, too coarse to tell a slightly wrong
gradient from rounding. The checks therefore rebuild the object from its config under a new
dtype policy (`config["dtype"] = "float64"` for every layer, nested models included, through
`keras.models.clone_model(..., clone_function=..., recursive=True)`), then copy the weights
across (`set_weights` casts them). The original object is never touched. This needs the layers
to round-trip through `get_config`/`from_config`, which every Keras and keras_nnperf layer does.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def precise_dtype() -> str:
    """The most precise float dtype Keras computes in on the current backend.

    `"float64"` on TensorFlow. On JAX and PyTorch Keras maps float64 results to float32
    (`keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE`, applied by `result_type`: a float64
    Dense layer with tanh returns float32 even with JAX's 64-bit mode on), so `"float32"` there.
    """
    return "float64" if keras.backend.backend() == "tensorflow" else "float32"


def _with_dtype(layer: keras.layers.Layer, dtype: str) -> keras.layers.Layer:
    config = layer.get_config()
    config["dtype"] = dtype
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
