"""He initialization for leaky rectifiers: the exact variance for a given negative slope."""

from __future__ import annotations

import numbers

import keras

from keras_nnperf.registry import register
from keras_nnperf.validation import check_choice, check_number

_DISTRIBUTIONS = {"normal": "truncated_normal", "uniform": "uniform"}
_MODES = ("fan_in", "fan_out")


def check_seed(seed):
    """`seed` as Keras takes it: `None`, a Python int (NumPy ints converted) or a SeedGenerator.

    Raises:
        ValueError: for anything else (bools included).
    """
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise ValueError(
            "Argument seed must be None, an int or a keras.random.SeedGenerator. "
            f"Received: seed={seed!r}"
        )
    return int(seed)


def check_distribution(distribution) -> str:
    """Return the normalised `distribution` name (`"normal"` or `"uniform"`) or raise."""
    key = distribution.lower() if isinstance(distribution, str) else distribution
    if key not in _DISTRIBUTIONS:
        raise ValueError(
            f"Argument distribution must be one of {sorted(_DISTRIBUTIONS)}. "
            f"Received: distribution={distribution!r}"
        )
    return key


@register("initializer")
class HeForSlope(keras.initializers.VarianceScaling):
    """He initialization for a rectifier with negative slope `a` (leaky ReLU, PReLU, RReLU).

    Draws weights with zero mean and variance

    `Var(w) = 2 / ((1 + a^2) * fan)`

    which keeps the variance of the pre-activations constant from layer to layer when every
    layer is followed by `f(x) = max(x, 0) + a * min(x, 0)` (He et al. 2015, eq. 10 for
    `fan_in`, eq. 14 for `fan_out`). `a = 0` is `keras.initializers.HeNormal` /
    `HeUniform`; `a = 1` (a linear unit) is LeCun initialization.

    It is a `keras.initializers.VarianceScaling` with `scale = 2 / (1 + a^2)`, so the variance
    is exact for both distributions: `"normal"` samples a normal truncated at two standard
    deviations whose standard deviation is divided by 0.8796 (the standard deviation of the unit
    normal truncated to [-2, 2]) to undo the truncation, and `"uniform"` samples
    `U(-limit, limit)` with `limit = sqrt(3 * Var(w))`.

    Args:
        negative_slope: The slope `a >= 0` of the rectifier for negative inputs: the
            `negative_slope` of a leaky ReLU, the initial slope of a PReLU (0.25 in He et al.),
            or the mean slope `(lower + upper) / 2` of an RReLU.
        distribution: `"normal"` (truncated normal, as `HeNormal`) or `"uniform"`.
        mode: `"fan_in"` keeps the forward signal's variance, `"fan_out"` the backward
            gradient's. Defaults to `"fan_in"`.
        seed: `None`, an int, or a `keras.random.SeedGenerator`, as for any Keras initializer.

    Raises:
        ValueError: if `negative_slope` is not a finite number `>= 0`, or `distribution`,
            `mode` or `seed` is invalid.

    Example:
    ```python
    layer = keras.layers.Dense(
        256,
        activation=keras.layers.LeakyReLU(negative_slope=0.1),
        kernel_initializer=HeForSlope(0.1),
    )
    ```

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level Performance on
        ImageNet Classification" (https://arxiv.org/abs/1502.01852).
    """

    def __init__(
        self,
        negative_slope: float,
        distribution: str = "normal",
        mode: str = "fan_in",
        seed=None,
    ):
        negative_slope = check_number("negative_slope", negative_slope, low=0.0)
        distribution = check_distribution(distribution)
        check_choice("mode", mode, _MODES)
        seed = check_seed(seed)
        self.negative_slope = negative_slope
        super().__init__(
            scale=2.0 / (1.0 + self.negative_slope**2),
            mode=mode,
            distribution=_DISTRIBUTIONS[distribution],
            seed=seed,
        )

    def get_config(self):
        config = super().get_config()
        # `scale` and the axes follow from the arguments below; `from_config` calls `__init__`.
        for derived in ("scale", "input_axes", "output_axes"):
            config.pop(derived, None)
        public = {value: key for key, value in _DISTRIBUTIONS.items()}
        config.update(negative_slope=self.negative_slope, distribution=public[self.distribution])
        return config
