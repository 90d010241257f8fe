"""Pieces both templates share: activation layers, initializers and regularizers by name.

Activations resolve through `keras_nnperf.get_activation`, so our parametric ones ("prelu",
"rrelu", "pswish", "pelu") come back as fresh layers, one per use, and the plain ones ("mish")
as functions wrapped in an `Activation` layer. Kernel initializers follow the activation through
`keras_nnperf.initializers.for_activation.for_activation` unless a named one is chosen.
"""

from __future__ import annotations

import keras

# Importing these modules registers our activations and layers by name.
import keras_nnperf.activations  # noqa: F401
import keras_nnperf.layers  # noqa: F401
from keras_nnperf.initializers.for_activation import for_activation
from keras_nnperf.registry import get_activation

ACTIVATIONS = (
    "relu",
    "leaky_relu",
    "prelu",
    "rrelu",
    "mish",
    "pswish",
    "pelu",
    "elu",
    "selu",
    "gelu",
    "swish",
)

# "for_activation" is the He / LeCun / Glorot / He-for-slope rule matched to the activation.
INITIALIZERS = ("for_activation", "glorot_uniform", "he_normal", "lecun_normal", "orthogonal")

INITIALIZER_MODES = ("auto", "searched")


def activation_layer(name: str, layer_name: str) -> keras.layers.Layer:
    """A new activation layer for `name`; parametric activations get their own weights."""
    activation = get_activation(name)
    if isinstance(activation, keras.layers.Layer):
        return activation
    return keras.layers.Activation(activation, name=layer_name)


def kernel_initializer(choice: str, activation: str):
    """The initializer for a hidden layer: `for_activation(activation)` or a Keras one by name."""
    if choice == "for_activation":
        return for_activation(activation)
    return keras.initializers.get(choice)


def initializer_choices(mode: str) -> list[str]:
    """The values of the `kernel_initializer` hyperparameter for an `initializer=` mode."""
    return ["for_activation"] if mode == "auto" else list(INITIALIZERS)


def regularizer(l1: float, l2: float):
    """An L1/L2 kernel regularizer, or `None` when both factors are zero."""
    if not l1 and not l2:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


def dropout_layer(rate: float, activation: str, layer_name: str) -> keras.layers.Layer:
    """`AlphaDropout` for SELU (keeps the self-normalizing mean and variance), else `Dropout`."""
    if activation == "selu":
        return keras.layers.AlphaDropout(rate, name=layer_name)
    return keras.layers.Dropout(rate, name=layer_name)
