"""Mish as a layer, for `Sequential` models and functional graphs."""

from __future__ import annotations

import keras

from keras_nnperf.activations import mish
from keras_nnperf.registry import register


@register("layer")
class Mish(keras.layers.Layer):
    """Mish: `f(x) = x * tanh(softplus(x))`, one `exp` per element and a hand-written gradient.

    A smooth, non-monotonic activation that keeps a small negative response (minimum about
    -0.31 at x = -1.19). This layer calls `keras_nnperf.activations.mish`, which is faster than
    `keras.activations.mish` and finite for any finite input, also in float16.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A float tensor of any shape.

    Returns:
        A tensor of the same shape and dtype as the inputs.

    Example:
    ```python
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32), Mish()])
    ```

    Reference:
        Misra, 2019, "Mish: A Self Regularized Non-Monotonic Activation Function",
        https://arxiv.org/abs/1908.08681
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return mish(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape
