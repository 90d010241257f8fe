import keras
import numpy as np
import pytest

from keras_nnperf import activations, testing
from keras_nnperf.testing import value_and_grad

BACKEND = keras.backend.backend()


def _mish64(x):
    return x * np.tanh(np.logaddexp(0.0, x))


def _mish_grad64(x):
    t = np.tanh(np.logaddexp(0.0, x))
    return t + x * (1 - t**2) / (1 + np.exp(-x))


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


@pytest.mark.parametrize("jit", [False, True])
def test_mish_exact_to_1e6_against_float64(jit):
    x = np.linspace(-40, 40, 8001).astype("float32")
    y, grad = value_and_grad(activations.mish, x, jit)
    x64 = x.astype("float64")
    assert np.all(np.abs(y - _mish64(x64)) <= 1e-6 * np.maximum(1, np.abs(x64)))
    # Under XLA the hand-written gradient is exact to 1e-6; without XLA TensorFlow's TanhGrad
    # (1 - t^2 near t = 1) loses a few more bits, as keras.activations.mish does.
    exact = jit or BACKEND != "tensorflow"
    np.testing.assert_allclose(grad, _mish_grad64(x64), atol=1e-6 if exact else 5e-6)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_mish_finite_for_huge_inputs(dtype):
    x = np.array([-1e4, -100.0, -12.0, 12.0, 100.0, 1e4], dtype)
    with testing.float64_scope():
        y, grad = value_and_grad(activations.mish, x)
    assert y.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(y[3:], x[3:], rtol=1e-3)
    np.testing.assert_allclose(grad, [0, 0, 0, 1, 1, 1], atol=2e-3)


def test_mish_matches_keras_and_takes_integers():
    x = np.linspace(-6, 6, 25).astype("float32")
    np.testing.assert_allclose(
        _np(activations.mish(x)), _np(keras.activations.mish(x)), rtol=1e-5, atol=1e-6
    )
    assert keras.backend.standardize_dtype(activations.mish(np.array([1, 2])).dtype) == "float32"


def test_prelu_pswish_pelu_against_numpy():
    x = np.linspace(-3, 3, 13).astype("float32")
    x64 = x.astype("float64")
    np.testing.assert_allclose(
        _np(activations.prelu(x, 0.2)), np.where(x64 >= 0, x64, 0.2 * x64), rtol=1e-6
    )
    np.testing.assert_allclose(
        _np(activations.pswish(x, 1.7)), x64 / (1 + np.exp(-1.7 * x64)), rtol=1e-6, atol=1e-7
    )
    expected = np.where(x64 >= 0, 2.0 / 0.5 * x64, 2.0 * np.expm1(x64 / 0.5))
    np.testing.assert_allclose(_np(activations.pelu(x, 2.0, 0.5)), expected, rtol=1e-6)


def test_rrelu_function_slopes_in_bounds_and_inference_mean():
    x = -np.ones((100, 100), "float32")
    slopes = _np(activations.rrelu(x, 0.1, 0.4, seed=1)) / x
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4
    np.testing.assert_allclose(_np(activations.rrelu(x, 0.1, 0.4)), -0.25, rtol=1e-7)


def test_rrelu_function_inference_with_tensor_bounds():
    x = np.array([[-2.0, 3.0]], "float32")
    lower, upper = keras.ops.convert_to_tensor(0.1), keras.ops.convert_to_tensor(0.3)
    np.testing.assert_allclose(_np(activations.rrelu(x, lower, upper)), [[-0.4, 3.0]], rtol=1e-6)


@pytest.mark.tensorflow_only("the no-XLA tf.function path runs the hash in its own XLA kernels")
def test_rrelu_function_uncompiled_tf_function_training():
    import tensorflow as tf

    generator = keras.random.SeedGenerator(1)
    train = tf.function(lambda v: activations.rrelu(v, 0.1, 0.4, seed=generator))
    slopes = train(-np.ones((50, 60), "float32")).numpy() * -1
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4 and slopes.std() > 0.05


@pytest.mark.tensorflow_only("TensorFlow's XLA-context check, a private TensorFlow module")
def test_xla_context_check_tells_xla_from_plain_graphs():
    # `_tensorflow_outside_xla` reads TensorFlow's private `control_flow_util`; if TensorFlow
    # moves it, the function silently answers False everywhere. This test notices.
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    assert callable(control_flow_util.GraphOrParentsInXlaContext)
    seen = {}

    def probe(name):
        def fn(x):
            seen[name] = activations._tensorflow_outside_xla()
            return x

        return fn

    assert activations._tensorflow_outside_xla()  # eager
    tf.function(probe("graph"))(tf.constant(1.0))
    tf.function(probe("xla"), jit_compile=True)(tf.constant(1.0))
    assert seen == {"graph": True, "xla": False}


def test_xla_context_check_is_false_off_tensorflow(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert activations._tensorflow_outside_xla() is False
