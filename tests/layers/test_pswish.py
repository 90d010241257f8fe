import keras
import numpy as np
import pytest

from keras_nnperf.layers.pswish import PSwish
from keras_nnperf.testing import check_layer


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _reference(x, layer):
    beta = np.asarray(layer.beta.numpy(), dtype="float64")
    return x / (1.0 + np.exp(-beta * x))


@pytest.mark.parametrize("mode, beta_shape", [("shared", ()), ("channel", (4,))])
def test_pswish_contract(mode, beta_shape, tmp_path):
    init = keras.initializers.RandomUniform(0.5, 2.0, seed=3)
    layer = check_layer(
        PSwish,
        {"mode": mode, "beta_initializer": init},
        input_shape=(3, 4),
        reference_fn=_reference,
        tmp_dir=tmp_path,
    )
    assert tuple(layer.beta.shape) == beta_shape


def test_beta_one_is_silu_and_fixed_beta_not_trainable():
    x = np.linspace(-5, 5, 11, dtype="float32")[None]
    layer = PSwish(trainable=False)
    np.testing.assert_allclose(_np(layer(x)), _np(keras.activations.silu(x)), rtol=1e-6)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1


def test_beta_constraint_and_regularizer_applied():
    layer = PSwish(3.0, beta_constraint=keras.constraints.NonNeg(), beta_regularizer="l2")
    layer.build((None, 2))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(_np(layer.losses[0]), 0.01 * 9.0, rtol=1e-6)
    assert layer.beta.constraint is layer.beta_constraint


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"mode": "element"}, "mode"),
        ({"beta_initializer": "nope"}, "beta_initializer"),
        ({"beta_regularizer": "nope"}, "beta_regularizer"),
        ({"beta_constraint": "nope"}, "beta_constraint"),
        ({"trainable": "yes"}, "trainable"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, name):
    value = next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        PSwish(**kwargs)
