"""Kernel initializers that keep a deep network's signal at unit scale.

* `for_activation(activation)`: the Glorot / He / LeCun / He-for-slope initializer that matches
  an activation.
* `HeForSlope(negative_slope)`: He et al.'s exact variance for leaky rectifiers.
* `lsuv(model, x_batch)`: data-driven layer-sequential unit-variance initialization.
* `initialize_at_baseline(model, y)`: output bias at the target's prior or mean, small output
  kernel, so the first loss is the trivial baseline's.
"""

from keras_nnperf.initializers.baseline import (
    BaselineInitialization,
    baseline_prediction,
    initialize_at_baseline,
)
from keras_nnperf.initializers.for_activation import ACTIVATION_SCHEMES, for_activation
from keras_nnperf.initializers.he_for_slope import HeForSlope
from keras_nnperf.initializers.lsuv import LayerLSUVResult, LSUVReport, lsuv

__all__ = [
    "ACTIVATION_SCHEMES",
    "BaselineInitialization",
    "HeForSlope",
    "LSUVReport",
    "LayerLSUVResult",
    "baseline_prediction",
    "for_activation",
    "initialize_at_baseline",
    "lsuv",
]
