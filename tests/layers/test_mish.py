import keras
import numpy as np
import tensorflow as tf

from keras_nnperf.layers.mish import Mish
from keras_nnperf.testing import check_layer


def _mish64(x, layer=None):
    return x * np.tanh(np.logaddexp(0.0, x))


def test_mish_contract(tmp_path):
    check_layer(Mish, {}, input_shape=(3, 4), reference_fn=_mish64, tmp_dir=tmp_path, rtol=1e-6)


def test_mixed_float16_finite_for_large_inputs():
    layer = Mish(dtype="mixed_float16")
    x = tf.constant([[-1e4, -30.0, -11.5, -1.0, 0.0, 1.0, 11.5, 30.0, 6e4]], "float16")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    grad = tape.gradient(y, x)
    assert y.dtype == "float16" and grad.dtype == "float16"
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(grad.numpy()))
    np.testing.assert_allclose(
        y.numpy().astype("float64"), _mish64(x.numpy().astype("float64")), rtol=1e-3, atol=1e-3
    )


def test_in_sequential_matches_keras_mish():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), Mish()])
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32") * 3
    hidden = model.layers[0](x)
    np.testing.assert_allclose(
        model(x).numpy(), keras.activations.mish(hidden).numpy(), rtol=1e-5, atol=1e-6
    )
