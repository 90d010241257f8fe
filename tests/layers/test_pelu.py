import keras
import numpy as np
import pytest

from keras_nnperf.constraints import MinValue
from keras_nnperf.layers.pelu import PELU
from keras_nnperf.testing import check_layer


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _reference(x, layer):
    a = np.asarray(layer.alpha.numpy(), dtype="float64")
    b = np.asarray(layer.beta.numpy(), dtype="float64")
    return np.where(x >= 0, a / b * x, a * (np.exp(np.minimum(x, 0) / b) - 1))


@pytest.mark.parametrize("mode, shape", [("shared", ()), ("channel", (4,))])
def test_pelu_contract(mode, shape, tmp_path):
    layer = check_layer(
        PELU,
        {
            "mode": mode,
            "alpha_initializer": keras.initializers.RandomUniform(0.5, 2.0, seed=1),
            "beta_initializer": keras.initializers.RandomUniform(0.5, 2.0, seed=2),
        },
        input_shape=(3, 4),
        reference_fn=_reference,
        tmp_dir=tmp_path,
    )
    assert tuple(layer.alpha.shape) == shape and tuple(layer.beta.shape) == shape


def test_default_is_elu_and_parameters_kept_positive():
    layer = PELU()
    x = np.linspace(-4, 4, 9, dtype="float32")[None]
    np.testing.assert_allclose(_np(layer(x)), _np(keras.activations.elu(x)), rtol=1e-6)
    assert isinstance(layer.alpha_constraint, MinValue)
    model = keras.Sequential([keras.Input((9,)), layer])
    model.compile(keras.optimizers.SGD(100.0), "mse")
    model.fit(np.tile(x, (4, 1)), np.full((4, 9), -10.0, "float32"), verbose=0, epochs=2)
    assert float(layer.alpha.numpy()) >= 0.1 and float(layer.beta.numpy()) >= 0.1


def test_no_overflow_in_unused_branch():
    x = np.array([[-1e4, -50.0, 50.0, 1e4]], "float32")
    layer = PELU(1.0, 0.1)
    assert np.all(np.isfinite(_np(layer(x))))


def test_constraints_can_be_removed():
    assert PELU(alpha_constraint=None, beta_constraint=None).alpha_constraint is None


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"mode": "element"}, "mode"),
        ({"alpha_initializer": 0.0}, "alpha_initializer"),
        ({"beta_initializer": -1.0}, "beta_initializer"),
        ({"alpha_initializer": float("inf")}, "alpha_initializer"),
        ({"beta_initializer": float("nan")}, "beta_initializer"),
        ({"alpha_initializer": "nope"}, "alpha_initializer"),
        ({"beta_regularizer": "nope"}, "beta_regularizer"),
        ({"alpha_constraint": "nope"}, "alpha_constraint"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, name):
    value = next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        PELU(**kwargs)


def test_numpy_scalar_initializers_and_config_of_both_parameters():
    layer = PELU(np.float32(2.0), np.int64(3), mode="channel")
    layer.build((None, 2))
    np.testing.assert_allclose(layer.alpha.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(layer.beta.numpy(), [3.0, 3.0])
    config = layer.get_config()
    assert [name for name in config if name.startswith(("alpha_", "beta_"))] == [
        "alpha_initializer",
        "beta_initializer",
        "alpha_regularizer",
        "beta_regularizer",
        "alpha_constraint",
        "beta_constraint",
    ]
    assert [w.name for w in layer.weights] == ["alpha", "beta"]
