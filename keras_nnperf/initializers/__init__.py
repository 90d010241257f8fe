"""Kernel initializers that keep a deep network's signal at unit scale.

* `for_activation(activation)`: the Glorot / He / LeCun / He-for-slope initializer that matches
  an activation.
* `HeForSlope(negative_slope)`: He et al.'s exact variance for leaky rectifiers.
* `lsuv(model, x_batch)`: data-driven layer-sequential unit-variance initialization.
"""

from keras_nnperf.initializers.for_activation import ACTIVATION_SCHEMES, for_activation
from keras_nnperf.initializers.he_for_slope import HeForSlope
from keras_nnperf.initializers.lsuv import LayerLSUVResult, LSUVReport, lsuv

__all__ = [
    "ACTIVATION_SCHEMES",
    "HeForSlope",
    "LSUVReport",
    "LayerLSUVResult",
    "for_activation",
    "lsuv",
]
