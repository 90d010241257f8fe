import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.constraints import ClipRange, MinValue

W = np.array([[-2.0, -0.5, 0.0], [0.05, 0.5, 3.0]], dtype="float32")


def test_values_match_numpy():
    cases = [
        (ClipRange(), np.clip(W, 0.0, 1.0)),
        (ClipRange(-1.0, 0.25), np.clip(W, -1.0, 0.25)),
        (ClipRange(None, 0.5), np.minimum(W, 0.5)),
        (ClipRange(-1, None), np.maximum(W, -1.0)),
        (ClipRange(np.float32(0.1), np.float64(2.0)), np.clip(W, 0.1, 2.0)),
        (MinValue(), np.maximum(W, 0.1)),
        (MinValue(0.5), np.maximum(W, 0.5)),
    ]
    for constraint, expected in cases:
        got = keras.ops.convert_to_numpy(constraint(keras.Variable(W)))
        np.testing.assert_array_equal(got, expected, err_msg=repr(constraint.get_config()))


def test_keeps_float16_dtype():
    clipped = ClipRange(0.0, 1.0)(keras.ops.convert_to_tensor(W, dtype="float16"))
    assert keras.backend.standardize_dtype(clipped.dtype) == "float16"


def test_config_round_trip_and_registration():
    for constraint, config in [
        (ClipRange(-0.5, None), {"min_value": -0.5, "max_value": None}),
        (MinValue(0.2), {"min_value": 0.2}),
    ]:
        assert constraint.get_config() == config
        clone = type(constraint).from_config(config)
        np.testing.assert_array_equal(clone(W), constraint(W))
        restored = keras.constraints.deserialize(keras.constraints.serialize(constraint))
        assert type(restored) is type(constraint) and restored.get_config() == config
    assert registry.lookup("constraint", "clip_range") is ClipRange
    assert registry.lookup("constraint", "min_value") is MinValue


def test_bad_arguments_raise_naming_argument_and_value():
    cases = [
        (ClipRange, {"min_value": "0"}, "min_value"),
        (ClipRange, {"min_value": float("nan")}, "min_value"),
        (ClipRange, {"min_value": True}, "min_value"),
        (ClipRange, {"max_value": [1.0]}, "max_value"),
        (ClipRange, {"min_value": 1.0, "max_value": 0.0}, "min_value"),
        (ClipRange, {"min_value": None, "max_value": None}, "min_value"),
        (MinValue, {"min_value": None}, "min_value"),
        (MinValue, {"min_value": "0.1"}, "min_value"),
    ]
    for cls, kwargs, argument in cases:
        with pytest.raises(ValueError) as info:
            cls(**kwargs)
        assert f"Received: {argument}={kwargs[argument]!r}" in str(info.value), kwargs


def fit_slopes(constraint, jit_compile):
    """Fit y = x @ diag(-3, 0.5, 5): free weights would leave [0, 1] on both sides."""
    x = np.random.default_rng(0).normal(size=(256, 3)).astype("float32")
    y = x * np.array([-3.0, 0.5, 5.0], dtype="float32")
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(
                3,
                use_bias=False,
                kernel_initializer=keras.initializers.Constant(0.25),
                kernel_constraint=constraint,
            ),
        ]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=jit_compile)
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    return keras.ops.convert_to_numpy(model.layers[0].kernel)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_keeps_a_slope_like_weight_in_range(jit_compile):
    free = fit_slopes(None, jit_compile)
    assert free.min() < -1.0 and free.max() > 2.0  # without the constraint it leaves [0, 1]
    kernel = fit_slopes(ClipRange(0.0, 1.0), jit_compile)
    assert kernel.min() >= 0.0 and kernel.max() <= 1.0
    assert kernel[0, 0] == 0.0 and kernel[2, 2] == 1.0
    assert 0.3 < kernel[1, 1] < 0.7  # an interior optimum is left alone


def test_saved_model_loads_with_its_constraint(tmp_path):
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(2, kernel_constraint=MinValue(0.3))]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    constraint = loaded.layers[0].kernel_constraint
    assert isinstance(constraint, MinValue) and constraint.get_config() == {"min_value": 0.3}
