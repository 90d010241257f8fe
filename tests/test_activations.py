import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_nnperf import activations


def _mish64(x):
    return x * np.tanh(np.logaddexp(0.0, x))


def _mish_grad64(x):
    t = np.tanh(np.logaddexp(0.0, x))
    return t + x * (1 - t**2) / (1 + np.exp(-x))


def _value_and_grad(fn, x, jit=False):
    def step(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = fn(v)
        return y, tape.gradient(y, v)

    if jit:
        step = tf.function(step, jit_compile=True)
    return step(tf.constant(x))


@pytest.mark.parametrize("jit", [False, True])
def test_mish_exact_to_1e6_against_float64(jit):
    x = np.linspace(-40, 40, 8001).astype("float32")
    y, grad = _value_and_grad(activations.mish, x, jit)
    x64 = x.astype("float64")
    assert np.all(np.abs(y.numpy() - _mish64(x64)) <= 1e-6 * np.maximum(1, np.abs(x64)))
    # Under XLA the hand-written gradient is exact to 1e-6; without XLA TensorFlow's TanhGrad
    # (1 - t^2 near t = 1) loses a few more bits, as keras.activations.mish does.
    np.testing.assert_allclose(grad.numpy(), _mish_grad64(x64), atol=1e-6 if jit else 5e-6)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_mish_finite_for_huge_inputs(dtype):
    x = np.array([-1e4, -100.0, -12.0, 12.0, 100.0, 1e4], dtype)
    y, grad = _value_and_grad(activations.mish, x)
    assert y.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(grad.numpy()))
    np.testing.assert_allclose(y.numpy()[3:], x[3:], rtol=1e-3)
    np.testing.assert_allclose(grad.numpy(), [0, 0, 0, 1, 1, 1], atol=2e-3)


def test_mish_matches_keras_and_takes_integers():
    x = np.linspace(-6, 6, 25).astype("float32")
    np.testing.assert_allclose(
        activations.mish(x).numpy(), keras.activations.mish(x).numpy(), rtol=1e-5, atol=1e-6
    )
    assert activations.mish(np.array([1, 2])).dtype == "float32"


def test_prelu_pswish_pelu_against_numpy():
    x = np.linspace(-3, 3, 13).astype("float32")
    x64 = x.astype("float64")
    np.testing.assert_allclose(
        activations.prelu(x, 0.2).numpy(), np.where(x64 >= 0, x64, 0.2 * x64), rtol=1e-6
    )
    np.testing.assert_allclose(
        activations.pswish(x, 1.7).numpy(), x64 / (1 + np.exp(-1.7 * x64)), rtol=1e-6, atol=1e-7
    )
    expected = np.where(x64 >= 0, 2.0 / 0.5 * x64, 2.0 * np.expm1(x64 / 0.5))
    np.testing.assert_allclose(activations.pelu(x, 2.0, 0.5).numpy(), expected, rtol=1e-6)


def test_hash_uniform_range_moments_and_reproducibility():
    u = activations.hash_uniform((200, 300), seed=7).numpy()
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    # Neighbouring elements are uncorrelated.
    assert abs(np.corrcoef(u.ravel()[:-1], u.ravel()[1:])[0, 1]) < 0.01
    np.testing.assert_array_equal(activations.hash_uniform((200, 300), seed=7).numpy(), u)
    assert np.mean(activations.hash_uniform((200, 300), seed=8).numpy() == u) < 0.001


def test_hash_uniform_seed_generator_advances_in_graph():
    generator = keras.random.SeedGenerator(3)
    draw = tf.function(lambda: activations.hash_uniform((50,), generator), jit_compile=True)
    first, second = draw().numpy(), draw().numpy()
    assert np.mean(first == second) < 0.05
    replay = keras.random.SeedGenerator(3)
    np.testing.assert_array_equal(activations.hash_uniform((50,), replay).numpy(), first)


def test_rrelu_function_slopes_in_bounds_and_inference_mean():
    x = -np.ones((100, 100), "float32")
    slopes = activations.rrelu(x, 0.1, 0.4, seed=1).numpy() / x
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4
    np.testing.assert_allclose(activations.rrelu(x, 0.1, 0.4).numpy(), -0.25, rtol=1e-7)


def test_rrelu_function_inference_with_tensor_bounds_and_uncompiled_training():
    x = np.array([[-2.0, 3.0]], "float32")
    y = activations.rrelu(x, tf.constant(0.1), tf.constant(0.3)).numpy()
    np.testing.assert_allclose(y, [[-0.4, 3.0]], rtol=1e-6)
    # Training in a tf.function without XLA (the path that runs the hash in XLA kernels).
    generator = keras.random.SeedGenerator(1)
    train = tf.function(lambda v: activations.rrelu(v, 0.1, 0.4, seed=generator))
    slopes = train(-np.ones((50, 60), "float32")).numpy() * -1
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4 and slopes.std() > 0.05
