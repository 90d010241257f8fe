"""`value_and_gradients` against finite differences of an independent NumPy float64 model."""

import keras
import numpy as np
import pytest

from keras_nnperf.diagnostics.gradients import compiled, value_and_gradients

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 5)).astype("float32")
Y = RNG.normal(size=(16, 2)).astype("float32")


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4, "tanh"), keras.layers.Dense(2)]
    )


def _numpy_loss(weights):
    w1, b1, w2, b2 = weights
    out = np.tanh(X.astype("float64") @ w1 + b1) @ w2 + b2
    return np.mean((out - Y) ** 2)


def _finite_differences(weights, eps=1e-6):
    weights = [w.astype("float64") for w in weights]
    grads = []
    for w in weights:
        grad = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            saved = w[index]
            w[index] = saved + eps
            up = _numpy_loss(weights)
            w[index] = saved - eps
            down = _numpy_loss(weights)
            w[index] = saved
            grad[index] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


def test_matches_float64_finite_differences_of_a_numpy_model():
    model = _model()

    def loss():
        return keras.ops.mean(keras.ops.square(keras.ops.subtract(model(X), Y)))

    value, grads = value_and_gradients(loss, model.trainable_variables)
    weights = model.get_weights()
    assert float(keras.ops.convert_to_numpy(value)) == pytest.approx(_numpy_loss(weights), rel=1e-5)
    for got, want in zip(grads, _finite_differences(weights), strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-4, atol=1e-6)


def test_non_trainable_and_unused_variables():
    model = _model()
    probe = keras.Variable(np.zeros((16, 2), "float32"), trainable=False)
    unused = keras.Variable(np.ones(3, "float32"))

    def loss():
        return keras.ops.mean(keras.ops.square(keras.ops.subtract(model(X) + probe, Y)))

    _, (g_probe, g_unused) = value_and_gradients(loss, [probe, unused])
    # d/d(probe) of mean((out + probe - y)^2) is 2 (out - y) / n at probe = 0.
    want = 2 * (keras.ops.convert_to_numpy(model(X)) - Y) / Y.size
    np.testing.assert_allclose(keras.ops.convert_to_numpy(g_probe), want, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(g_unused), np.zeros(3))


def test_compiled_reads_the_current_values():
    model = _model()
    variables = model.trainable_variables

    def loss():
        return keras.ops.mean(keras.ops.square(keras.ops.subtract(model(X), Y)))

    evaluate = compiled(loss, variables)
    first = float(evaluate())
    assert first == pytest.approx(_numpy_loss(model.get_weights()), rel=1e-5)
    bias = variables[-1]
    bias.assign(keras.ops.convert_to_numpy(bias.value) + 1.0)
    assert float(evaluate()) == pytest.approx(_numpy_loss(model.get_weights()), rel=1e-5)
    assert float(evaluate()) != pytest.approx(first)


def test_leaves_the_variables_as_they_were():
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    value_and_gradients(lambda: keras.ops.sum(model(X)), model.trainable_variables)
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)


def test_no_variables_gives_the_value_and_no_gradients():
    value, grads = value_and_gradients(lambda: keras.ops.sum(keras.ops.ones((2,))), [])
    assert float(value) == 2.0 and grads == []
