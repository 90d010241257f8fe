"""The shared layer checks must be able to fail: each is run on a layer broken in one way."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_nnperf import testing


class Scale(keras.layers.Layer):
    """y = w * x with one trainable weight; options break one property each."""

    def __init__(
        self,
        factor=2.0,
        wrong_grad=False,
        float32_out=False,
        frozen=False,
        offset=0.0,
        half_bias=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.half_bias = half_bias  # added only when computing in float16
        self.offset = offset  # deliberately missing from get_config
        self.factor = factor
        self.wrong_grad = wrong_grad
        self.float32_out = float32_out
        self.frozen = frozen

    def build(self, input_shape):
        self.w = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.factor))

    def call(self, x):
        w = ops.cast(self.w, x.dtype)
        if self.frozen:
            w = w * 0.0 + self.factor  # the weight gets an exactly zero gradient
        if self.wrong_grad:
            # Forward w * x, backward 2 w * x: the gradient w.r.t. x is twice too large.
            y = w * x + ops.stop_gradient(-w * x) + w * x
            return y - ops.stop_gradient(w * x)
        y = w * x + self.offset
        if keras.backend.standardize_dtype(x.dtype) == "float16":
            y = y + self.half_bias
        return ops.cast(y, "float32") if self.float32_out else y

    def get_config(self):
        return super().get_config() | {"factor": self.factor}


X = testing.random_inputs((2, 3))


def test_correct_layer_passes():
    layer = testing.check_output_shape_and_dtype(Scale, {}, X)
    testing.check_reference_values(layer, X, lambda x, lyr: 2.0 * x)
    testing.check_numeric_gradients(Scale, {}, X)
    testing.check_fit_step(Scale, {}, X)
    testing.check_jit_matches_eager(layer, X)


def test_wrong_reference_fails():
    layer = Scale()
    with pytest.raises(AssertionError):
        testing.check_reference_values(layer, X, lambda x, lyr: 2.001 * x)


def test_wrong_gradient_fails():
    with pytest.raises(AssertionError, match="d/dx"):
        testing.check_numeric_gradients(Scale, {"wrong_grad": True}, X)


def test_float32_output_under_mixed_precision_fails():
    with pytest.raises(AssertionError, match="mixed_float16"):
        testing.check_output_shape_and_dtype(Scale, {"float32_out": True}, X)


def test_mixed_float16_output_is_compared_with_float32():
    # A half-precision path off by 0.01 (5x float16's rounding at these magnitudes) is caught...
    with pytest.raises(AssertionError, match="beyond float16 rounding"):
        testing.check_output_shape_and_dtype(Scale, {"half_bias": 0.01}, X)
    # ...float16 rounding itself is not, and random layers skip the comparison.
    testing.check_output_shape_and_dtype(Scale, {"half_bias": 1e-4}, X)
    testing.check_output_shape_and_dtype(Scale, {"half_bias": 0.01}, X, compare=False)


def test_weight_without_gradient_fails_fit_step():
    with pytest.raises(AssertionError, match="did not change"):
        testing.check_fit_step(Scale, {"frozen": True}, X)


def test_config_missing_argument_fails_round_trip():
    layer = Scale(offset=1.0)
    layer.build(X.shape)
    with pytest.raises(AssertionError, match="not equal"):
        testing.check_config_round_trip(layer, X)


def test_random_inputs_keep_away_from_zero():
    x = testing.random_inputs((50, 50), margin=0.3)
    assert np.abs(x).min() >= 0.3 and (x < 0).any() and (x > 0).any()
