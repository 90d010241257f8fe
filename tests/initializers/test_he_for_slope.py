import math

import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.initializers.he_for_slope import HeForSlope

# 360 x 500 = 180,000 samples: the sample variance is within ~0.7% (2 sigma) of the true one.
DENSE_SHAPE = (360, 500)
CONV_SHAPE = (3, 3, 40, 64)  # fan_in = 360, fan_out = 576
REL_TOL = 0.02


def he_eq10_variance(slope, fan):
    return 2.0 / ((1.0 + slope**2) * fan)


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_sample_variance_matches_he_eq10(distribution):
    for slope in (0.0, 0.25, 0.5, 1.0):
        weights = keras.ops.convert_to_numpy(
            HeForSlope(slope, distribution=distribution, seed=3)(DENSE_SHAPE)
        )
        expected = he_eq10_variance(slope, fan=DENSE_SHAPE[0])
        assert weights.var() == pytest.approx(expected, rel=REL_TOL), slope
        assert abs(weights.mean()) < 3 * math.sqrt(expected / weights.size), slope


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_a_nonzero_slope_is_distinguishable_from_plain_he(distribution):
    # a = 0.5 shrinks the variance by 1.25; the tolerance above must be able to see that.
    weights = keras.ops.convert_to_numpy(
        HeForSlope(0.5, distribution=distribution, seed=4)(DENSE_SHAPE)
    )
    assert weights.var() < he_eq10_variance(0.0, DENSE_SHAPE[0]) * (1 - 2 * REL_TOL)


@pytest.mark.parametrize(("mode", "fan"), [("fan_in", 3 * 3 * 40), ("fan_out", 3 * 3 * 64)])
def test_conv_kernel_uses_receptive_field_fans(mode, fan):
    weights = keras.ops.convert_to_numpy(HeForSlope(0.2, mode=mode, seed=5)(CONV_SHAPE))
    assert weights.var() == pytest.approx(he_eq10_variance(0.2, fan), rel=REL_TOL)


def test_distribution_shapes():
    std = math.sqrt(he_eq10_variance(0.3, DENSE_SHAPE[0]))
    normal = keras.ops.convert_to_numpy(HeForSlope(0.3, seed=6)(DENSE_SHAPE))
    uniform = keras.ops.convert_to_numpy(HeForSlope(0.3, "uniform", seed=6)(DENSE_SHAPE))
    # Truncated at two raw standard deviations, where raw = std / 0.8796.
    assert np.abs(normal).max() <= 2 * std / 0.87962566103423978 + 1e-6
    assert np.abs(normal).max() > 2 * std
    limit = math.sqrt(3) * std
    assert np.abs(uniform).max() <= limit + 1e-6
    assert np.abs(uniform).max() > 0.99 * limit


def test_zero_slope_equals_keras_he_normal():
    ours = HeForSlope(0.0, seed=11)(DENSE_SHAPE)
    keras_he = keras.initializers.HeNormal(seed=11)(DENSE_SHAPE)
    np.testing.assert_allclose(ours, keras_he, rtol=1e-6)


def test_seed_makes_it_reproducible():
    first = HeForSlope(0.1, seed=7)((8, 8))
    second = HeForSlope(0.1, seed=7)((8, 8))
    other = HeForSlope(0.1, seed=8)((8, 8))
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_config_round_trip():
    initializer = HeForSlope(0.1, distribution="uniform", mode="fan_out", seed=9)
    config = initializer.get_config()
    expected = {"negative_slope": 0.1, "distribution": "uniform", "mode": "fan_out", "seed": 9}
    assert config == expected
    clone = HeForSlope.from_config(config)
    np.testing.assert_array_equal(clone((6, 5)), initializer((6, 5)))
    restored = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert isinstance(restored, HeForSlope)
    assert restored.get_config() == config


def test_registered_with_keras_and_our_registry():
    assert registry.lookup("initializer", "he_for_slope") is HeForSlope
    assert keras.saving.get_registered_object("keras_nnperf>HeForSlope") is HeForSlope


def test_model_save_load_without_custom_objects(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, kernel_initializer=HeForSlope(0.2, seed=1)),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.layers[0].kernel_initializer, HeForSlope)
    assert loaded.layers[0].kernel_initializer.negative_slope == 0.2


def test_bad_arguments_raise_naming_argument_and_value():
    cases = [
        ({"negative_slope": -0.1}, "negative_slope"),
        ({"negative_slope": float("nan")}, "negative_slope"),
        ({"negative_slope": float("inf")}, "negative_slope"),
        ({"negative_slope": "0.2"}, "negative_slope"),
        ({"negative_slope": None}, "negative_slope"),
        ({"negative_slope": True}, "negative_slope"),
        ({"negative_slope": 0.2, "distribution": "gaussian"}, "distribution"),
        ({"negative_slope": 0.2, "distribution": None}, "distribution"),
        ({"negative_slope": 0.2, "mode": "fan_avg"}, "mode"),
        ({"negative_slope": 0.2, "seed": 1.5}, "seed"),
        ({"negative_slope": 0.2, "seed": "1"}, "seed"),
    ]
    for kwargs, argument in cases:
        with pytest.raises(ValueError, match=f"Argument {argument}") as info:
            HeForSlope(**kwargs)
        assert f"Received: {argument}={kwargs[argument]!r}" in str(info.value), kwargs


def test_numpy_scalars_are_valid_and_stored_as_python_numbers():
    initializer = HeForSlope(np.float32(0.25), seed=np.int64(3))
    assert initializer.negative_slope == 0.25 and type(initializer.negative_slope) is float
