import keras
import numpy as np
import pytest

from keras_nnperf.layers.mc_dropout import MCDropout, mc_predict
from keras_nnperf.testing import check_layer


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _model(dropout):
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(16, "relu"), dropout, keras.layers.Dense(2)]
    )


def test_mc_dropout_contract():
    check_layer(MCDropout, {"rate": 0.5, "seed": 1}, input_shape=(3, 4), deterministic=False)


def test_stays_on_at_inference_with_inverted_scaling():
    y = _np(MCDropout(0.5, seed=0)(np.ones((64, 64), "float32"), training=False))
    assert set(np.unique(y)) == {0.0, 2.0}
    assert 0.4 < np.mean(y == 0) < 0.6


def test_mc_predict_std_positive_with_mc_dropout_zero_with_dropout():
    x = np.random.default_rng(0).normal(size=(10, 4)).astype("float32")
    _, std = mc_predict(_model(MCDropout(0.3, seed=2)), x, n_samples=8, batch_size=4)
    assert std.shape == (10, 2) and np.all(std > 0)
    plain = _model(keras.layers.Dropout(0.3))
    mean, std = mc_predict(plain, x, n_samples=8, batch_size=4)
    # Only matmul rounding (the copies sit at different batch rows) separates the passes.
    np.testing.assert_allclose(std, 0.0, atol=1e-6)
    np.testing.assert_allclose(mean, plain.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_mc_predict_calls_the_model_with_one_shape_whatever_the_length(monkeypatch):
    # One shape, one trace (one XLA compile on JAX), for inputs of any length.
    model = _model(MCDropout(0.3, seed=2))
    shapes = []
    original = model.predict_on_batch

    def record(x):
        shapes.append(x.shape)
        return original(x)

    monkeypatch.setattr(model, "predict_on_batch", record)
    rng = np.random.default_rng(0)
    for rows in (10, 3, 7):
        mean, std = mc_predict(model, rng.normal(size=(rows, 4)).astype("float32"), 5, 4)
        assert mean.shape == std.shape == (rows, 2)
    assert set(shapes) == {(20, 4)}


def test_mc_predict_mean_approximates_deterministic_prediction_for_small_rate():
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    model = _model(MCDropout(0.02, seed=3))
    deterministic = keras.Sequential([keras.Input((4,)), model.layers[0], model.layers[2]]).predict(
        x, verbose=0
    )
    mean, std = mc_predict(model, x, n_samples=200)
    np.testing.assert_allclose(mean, deterministic, atol=0.05 * np.abs(deterministic).max())
    assert np.all(std < 0.5 * np.abs(deterministic).max())


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"rate": 1.0}, "rate=1.0"),
        ({"rate": -0.1}, "rate=-0.1"),
        ({"rate": 0.1, "seed": "s"}, "seed='s'"),
        ({"rate": 0.1, "noise_shape": 3}, "noise_shape=3"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        MCDropout(**kwargs)


@pytest.mark.parametrize(
    "kwargs, fragment", [({"n_samples": 0}, "n_samples=0"), ({"batch_size": 0}, "batch_size=0")]
)
def test_mc_predict_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        mc_predict(_model(MCDropout(0.1)), np.zeros((2, 4), "float32"), **kwargs)
