import keras
import numpy as np
import pytest

from keras_nnperf.initializers.for_activation import ACTIVATION_SCHEMES, for_activation
from keras_nnperf.initializers.he_for_slope import HeForSlope

inits = keras.initializers
GLOROT = {"normal": inits.GlorotNormal, "uniform": inits.GlorotUniform}
HE = {"normal": inits.HeNormal, "uniform": inits.HeUniform}
LECUN = {"normal": inits.LecunNormal, "uniform": inits.LecunUniform}
RRELU_MEAN_SLOPE = (1 / 8 + 1 / 3) / 2

# Written out by hand from the spec, independently of ACTIVATION_SCHEMES: name -> (family, slope).
EXPECTED = {
    "none": (GLOROT, None),
    "linear": (GLOROT, None),
    "tanh": (GLOROT, None),
    "hard_tanh": (GLOROT, None),
    "sigmoid": (GLOROT, None),
    "hard_sigmoid": (GLOROT, None),
    "softsign": (GLOROT, None),
    "softmax": (GLOROT, None),
    "log_softmax": (GLOROT, None),
    "relu": (HE, None),
    "relu6": (HE, None),
    "elu": (HE, None),
    "celu": (HE, None),
    "gelu": (HE, None),
    "swish": (HE, None),
    "silu": (HE, None),
    "hard_swish": (HE, None),
    "hard_silu": (HE, None),
    "mish": (HE, None),
    "pswish": (HE, None),
    "pelu": (HE, None),
    "selu": (LECUN, None),
    "leaky_relu": (None, 0.2),
    "prelu": (None, 0.25),
    "rrelu": (None, RRELU_MEAN_SLOPE),
}

# (scale, mode, VarianceScaling distribution) for each family and our `distribution` argument.
VARIANCE = {
    id(GLOROT): (1.0, "fan_avg"),
    id(HE): (2.0, "fan_in"),
    id(LECUN): (1.0, "fan_in"),
}
KERAS_DISTRIBUTION = {"normal": "truncated_normal", "uniform": "uniform"}


def test_table_covers_exactly_the_expected_names():
    assert set(ACTIVATION_SCHEMES) == set(EXPECTED)


def check(initializer, family, slope, distribution="normal"):
    if family is None:
        assert type(initializer) is HeForSlope
        assert initializer.negative_slope == pytest.approx(slope)
        assert initializer.scale == pytest.approx(2 / (1 + slope**2))
        assert initializer.mode == "fan_in"
    elif slope:
        assert type(initializer) is HeForSlope
        assert initializer.negative_slope == pytest.approx(slope)
    else:
        assert type(initializer) is family[distribution]
        scale, mode = VARIANCE[id(family)]
        assert (initializer.scale, initializer.mode) == (scale, mode)
    assert initializer.distribution == KERAS_DISTRIBUTION[distribution]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_name_gets_its_scheme(name):
    family, slope = EXPECTED[name]
    for distribution in ("normal", "uniform"):
        check(for_activation(name, distribution=distribution), family, slope, distribution)


# conftest clears the Keras session after every test (~0.3 s each), so the cases below are
# grouped into a few tests; each assertion names its case.
def check_all(cases):
    for activation, family, slope in cases:
        try:
            check(for_activation(activation), family, slope)
        except AssertionError as err:
            raise AssertionError(f"for_activation({activation!r}): {err}") from err


def test_names_are_case_and_separator_insensitive():
    check_all(
        [
            ("ReLU", HE, None),
            ("LEAKY_RELU", None, 0.2),
            ("Leaky-ReLU", None, 0.2),
            ("LeakyReLU", None, 0.2),
            (" selu ", LECUN, None),
            ("PReLU", None, 0.25),
            ("RReLU", None, RRELU_MEAN_SLOPE),
            ("Hard_Swish", HE, None),
            (None, GLOROT, None),
        ]
    )


def test_keras_functions_by_name():
    check_all(
        [
            (keras.activations.relu, HE, None),
            (keras.activations.leaky_relu, None, 0.2),
            (keras.activations.selu, LECUN, None),
            (keras.activations.tanh, GLOROT, None),
            (keras.activations.sigmoid, GLOROT, None),
            (keras.activations.swish, HE, None),
            (keras.activations.gelu, HE, None),
            (keras.activations.linear, GLOROT, None),
            (keras.ops.relu, HE, None),
        ]
    )


class RReLU(keras.layers.Layer):
    """Stands in for keras_nnperf.layers.RReLU: only its class name and slopes matter here."""

    def __init__(self, lower=0.1, upper=0.3, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper = lower, upper


class PSwish(keras.layers.Layer):
    pass


class PELU(keras.layers.Layer):
    """Its `alpha_initializer` is a shape parameter, not a negative slope."""

    def __init__(self, alpha_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = keras.initializers.get(alpha_initializer)


def test_layer_classes_by_class_name_and_default_slope():
    check_all(
        [
            (keras.layers.ReLU, HE, None),
            (keras.layers.ELU, HE, None),
            (keras.layers.Softmax, GLOROT, None),
            # Keras's LeakyReLU layer defaults to a different slope than its function.
            (keras.layers.LeakyReLU, None, keras.layers.LeakyReLU().negative_slope),
            (keras.layers.PReLU, None, 0.0),  # Keras's PReLU starts from zero slope.
            (RReLU, None, 0.2),
            (PSwish, HE, None),
            (PELU, HE, None),
        ]
    )


def test_layer_instances_read_their_slope():
    check_all(
        [
            (keras.layers.LeakyReLU(negative_slope=0.1), None, 0.1),
            (keras.layers.ReLU(negative_slope=0.05), HE, 0.05),
            (keras.layers.ReLU(), HE, None),
            (keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.3)), None, 0.3),
            (RReLU(lower=0.2, upper=0.4), None, 0.3),
            (keras.layers.Activation("selu"), LECUN, None),
            (keras.layers.Activation(keras.activations.leaky_relu), None, 0.2),
            (PSwish(), HE, None),
            (PELU(), HE, None),
        ]
    )


def test_seed_is_passed_through():
    first = for_activation("relu", seed=7)((16, 16))
    np.testing.assert_array_equal(first, for_activation("relu", seed=7)((16, 16)))
    np.testing.assert_array_equal(
        for_activation("prelu", seed=7)((16, 16)), HeForSlope(0.25, seed=7)((16, 16))
    )


def test_unknown_activation_lists_supported_names():
    for activation in ["foo", "softplus", lambda x: x, keras.layers.Dense]:
        with pytest.raises(ValueError, match="Supported names") as info:
            for_activation(activation)
        message = str(info.value)
        assert "'relu'" in message and "'selu'" in message and "'rrelu'" in message
        assert f"activation={activation!r}" in message


def test_bad_arguments_raise_naming_argument_and_value():
    cases = [
        ({"activation": 3}, "activation"),
        ({"activation": "relu", "distribution": "gaussian"}, "distribution"),
        ({"activation": "relu", "distribution": "truncated_normal"}, "distribution"),
        ({"activation": "relu", "seed": 0.5}, "seed"),
    ]
    for kwargs, argument in cases:
        with pytest.raises(ValueError) as info:
            for_activation(**kwargs)
        assert f"Received: {argument}={kwargs[argument]!r}" in str(info.value)
