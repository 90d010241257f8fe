"""Pick the variance-preserving kernel initializer that matches a layer's activation."""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import keras

from keras_nnperf.initializers.he_for_slope import HeForSlope, check_distribution, check_seed
from keras_nnperf.registry import snake_case


class Scheme(NamedTuple):
    """An initialization scheme: its family and, for leaky rectifiers, the default slope."""

    family: str
    negative_slope: float | None = None


_GLOROT = Scheme("glorot")
_HE = Scheme("he")
_LECUN = Scheme("lecun")

#: Activation name -> scheme. Glorot for (near-)linear and squashing units, He for rectifiers and
#: their smooth cousins, LeCun for SELU, He-for-slope for leaky rectifiers. The leaky slopes are
#: the defaults: `keras.activations.leaky_relu` uses 0.2 (the `keras.layers.LeakyReLU` *layer*
#: defaults to 0.3 and is read from the layer), He et al. start PReLU at 0.25, and Xu et al.
#: draw RReLU slopes from U(1/8, 1/3), whose mean is 11/48.
ACTIVATION_SCHEMES: dict[str, Scheme] = {
    "none": _GLOROT,
    "linear": _GLOROT,
    "tanh": _GLOROT,
    "hard_tanh": _GLOROT,
    "sigmoid": _GLOROT,
    "hard_sigmoid": _GLOROT,
    "softsign": _GLOROT,
    "softmax": _GLOROT,
    "log_softmax": _GLOROT,
    "relu": _HE,
    "relu6": _HE,
    "elu": _HE,
    "celu": _HE,
    "gelu": _HE,
    "swish": _HE,
    "silu": _HE,
    "hard_swish": _HE,
    "hard_silu": _HE,
    "mish": _HE,
    "pswish": _HE,
    "pelu": _HE,
    "selu": _LECUN,
    "leaky_relu": Scheme("he_for_slope", 0.2),
    "prelu": Scheme("he_for_slope", 0.25),
    "rrelu": Scheme("he_for_slope", (1 / 8 + 1 / 3) / 2),
}

_INITIALIZERS = {
    ("glorot", "normal"): keras.initializers.GlorotNormal,
    ("glorot", "uniform"): keras.initializers.GlorotUniform,
    ("he", "normal"): keras.initializers.HeNormal,
    ("he", "uniform"): keras.initializers.HeUniform,
    ("lecun", "normal"): keras.initializers.LecunNormal,
    ("lecun", "uniform"): keras.initializers.LecunUniform,
}


def _key(name: str) -> str:
    # Class names snake-case unevenly (`PReLU` -> `p_re_lu`), so compare without separators.
    return name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


_BY_KEY = {_key(name): name for name in ACTIVATION_SCHEMES}


def _name_and_attributes(activation: Any) -> tuple[str, dict[str, Any]]:
    """The activation's table name (not yet checked) and the slope-bearing settings it shows."""
    if activation is None:
        return "none", {}
    if isinstance(activation, str):
        return activation, {}
    if isinstance(activation, keras.layers.Activation):
        return _name_and_attributes(activation.activation)
    if isinstance(activation, type):
        return snake_case(activation.__name__), _defaults(activation.__init__)
    if isinstance(activation, keras.layers.Layer):
        attributes = {name: getattr(activation, name, None) for name in _SLOPE_ATTRIBUTES}
        return snake_case(type(activation).__name__), attributes
    if callable(activation) and hasattr(activation, "__name__"):
        return activation.__name__, _defaults(activation)
    raise ValueError(
        "Argument activation must be None, a name, an activation function, or an activation "
        f"layer class or instance. Received: activation={activation!r}"
    )


_SLOPE_ATTRIBUTES = ("negative_slope", "lower", "upper", "alpha_initializer")


def _defaults(function) -> dict[str, Any]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # Some builtins have no introspectable signature.
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _negative_slope(attributes: dict[str, Any]) -> float | None:
    value = attributes.get("negative_slope")
    return float(value) if isinstance(value, (int, float)) else None


def _leaky_slope(attributes: dict[str, Any]) -> float | None:
    """The negative slope a leaky activation is configured with, or `None` if it shows none."""
    if _negative_slope(attributes) is not None:
        return _negative_slope(attributes)
    lower, upper = attributes.get("lower"), attributes.get("upper")
    if isinstance(lower, (int, float)) and isinstance(upper, (int, float)):
        return (float(lower) + float(upper)) / 2
    # A PReLU's initial slope; Keras's own PReLU starts from zero.
    initializer = attributes.get("alpha_initializer")
    if isinstance(initializer, (str, dict)):
        try:
            initializer = keras.initializers.get(initializer)
        except ValueError:
            return None
    if isinstance(initializer, keras.initializers.Zeros):
        return 0.0
    if isinstance(initializer, keras.initializers.Constant):
        return float(initializer.value)
    return None


def for_activation(activation: Any, distribution: str = "normal", seed=None):
    """Return the kernel initializer that keeps the signal's variance for `activation`.

    | activation | initializer | `Var(w)` |
    |---|---|---|
    | none, linear, tanh, sigmoid, softmax (+ hard, soft forms) | Glorot | `2/(fan_in + fan_out)` |
    | relu, relu6, elu, celu, gelu, swish/silu, hard_swish, mish, pswish, pelu | He | `2/fan_in` |
    | selu | LeCun | `1/fan_in` |
    | leaky_relu, prelu, rrelu | `HeForSlope(a)` | `2/((1 + a^2) fan_in)` |

    For leaky rectifiers `a` is the slope the activation carries (a layer's `negative_slope`, an
    RReLU's `(lower + upper) / 2`, a PReLU's constant `alpha_initializer`), else the default in
    `ACTIVATION_SCHEMES`: 0.2 for `leaky_relu`, 0.25 for PReLU (He et al.), 11/48 for RReLU (the
    mean of U(1/8, 1/3), Xu et al.). Using the exact slope in He's eq. 10 rather than plain He
    matters little for small slopes (a = 0.2 changes the variance by 4%) but is free.
    A rectifier given with a non-zero slope (`keras.layers.ReLU(negative_slope=0.1)`) also gets
    `HeForSlope`.

    Args:
        activation: `None`; a name, ours or Keras's, in any case (`"relu"`, `"LeakyReLU"`,
            `"prelu"`); an activation function (`keras.activations.relu`, read by `__name__`);
            or an activation layer class or instance (`keras.layers.LeakyReLU(0.1)`,
            `keras_nnperf.layers.RReLU`), named by its class name. A
            `keras.layers.Activation` layer is read through to its function.
        distribution: `"normal"` (Keras's truncated normal, exact variance) or `"uniform"`.
        seed: `None`, an int or a `keras.random.SeedGenerator`, passed to the initializer.

    Returns:
        A Keras initializer instance: `GlorotNormal`/`GlorotUniform`, `HeNormal`/`HeUniform`,
        `LecunNormal`/`LecunUniform`, or `HeForSlope`.

    Raises:
        ValueError: for an activation not in the table (the message lists the supported names),
            or an invalid `distribution` or `seed`.

    Example:
    ```python
    layer = keras.layers.Dense(
        256, activation="selu", kernel_initializer=for_activation("selu")
    )
    ```

    Reference:
        Glorot & Bengio, 2010, "Understanding the difficulty of training deep feedforward neural
        networks"; He et al., 2015, "Delving Deep into Rectifiers"
        (https://arxiv.org/abs/1502.01852); LeCun et al., 1998, "Efficient BackProp";
        Klambauer et al., 2017, "Self-Normalizing Neural Networks"
        (https://arxiv.org/abs/1706.02515).
    """
    distribution = check_distribution(distribution)
    seed = check_seed(seed)
    name, attributes = _name_and_attributes(activation)
    table_name = _BY_KEY.get(_key(name))
    if table_name is None:
        raise ValueError(
            f"Unknown activation {name!r}: no initialization scheme is known for it. "
            f"Supported names: {sorted(ACTIVATION_SCHEMES)}. Received: activation={activation!r}"
        )
    scheme = ACTIVATION_SCHEMES[table_name]
    if scheme.family == "he_for_slope":
        slope = _leaky_slope(attributes)
        slope = scheme.negative_slope if slope is None else slope
        return HeForSlope(slope, distribution=distribution, seed=seed)
    # Only an explicit `negative_slope` makes a rectifier leaky; PELU's `alpha_initializer`,
    # say, is not a slope.
    slope = _negative_slope(attributes) if scheme.family == "he" else None
    if slope:
        return HeForSlope(slope, distribution=distribution, seed=seed)
    return _INITIALIZERS[(scheme.family, distribution)](seed=seed)
