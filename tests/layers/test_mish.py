import keras
import numpy as np

from keras_nnperf.layers.mish import Mish
from keras_nnperf.testing import check_layer, value_and_grad


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _mish64(x, layer=None):
    return x * np.tanh(np.logaddexp(0.0, x))


def test_mish_contract(tmp_path):
    check_layer(Mish, {}, input_shape=(3, 4), reference_fn=_mish64, tmp_dir=tmp_path, rtol=1e-6)


def test_mixed_float16_finite_for_large_inputs():
    layer = Mish(dtype="mixed_float16")
    x = np.array([[-1e4, -30.0, -11.5, -1.0, 0.0, 1.0, 11.5, 30.0, 6e4]], "float16")
    y, grad = value_and_grad(layer, x)
    assert y.dtype == "float16" and grad.dtype == "float16"
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(
        y.astype("float64"), _mish64(x.astype("float64")), rtol=1e-3, atol=1e-3
    )


def test_in_sequential_matches_keras_mish():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), Mish()])
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32") * 3
    hidden = model.layers[0](x)
    np.testing.assert_allclose(
        _np(model(x)), _np(keras.activations.mish(hidden)), rtol=1e-5, atol=1e-6
    )
