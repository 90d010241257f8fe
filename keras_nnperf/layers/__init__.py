"""Activation layers (PReLU, RReLU, Mish, PSwish, PELU) and Monte Carlo dropout.

Every layer is registered by name, both as a layer and (except `MCDropout`) as an activation, so
`keras_nnperf.activation("prelu")` gives a `PReLU()` that `Dense(activation=...)` accepts and that
saves and loads with the model.
"""

from keras_nnperf.layers.mc_dropout import MCDropout, mc_predict
from keras_nnperf.layers.mish import Mish
from keras_nnperf.layers.pelu import PELU
from keras_nnperf.layers.prelu import PReLU
from keras_nnperf.layers.pswish import PSwish
from keras_nnperf.layers.rrelu import RReLU

__all__ = ["MCDropout", "Mish", "PELU", "PReLU", "PSwish", "RReLU", "mc_predict"]
