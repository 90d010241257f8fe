"""Weight constraints that keep learned activation parameters valid.

Keras applies a variable's constraint after every optimizer update, so these keep a PReLU or
RReLU slope inside [0, 1] and PELU's parameters positive throughout training. For max-norm
regularization use Keras's own `keras.constraints.MaxNorm` (see docs/initializers.md).
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.validation import check_number


@register("constraint")
class ClipRange(keras.constraints.Constraint):
    """Clip every weight into `[min_value, max_value]`.

    `w <- min(max(w, min_value), max_value)`; a bound of `None` leaves that side open.

    Args:
        min_value: Lower bound, or `None` for no lower bound. Defaults to 0.
        max_value: Upper bound, or `None` for no upper bound. Defaults to 1.

    Raises:
        ValueError: if a bound is not a number, both are `None`, or `min_value > max_value`.

    Example:
    ```python
    slope = keras_nnperf.layers.PReLU(alpha_constraint=ClipRange(0.0, 1.0))
    ```

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers" (PReLU slopes kept in a valid range).
    """

    def __init__(self, min_value: float | None = 0.0, max_value: float | None = 1.0):
        # An infinite bound is as good as none, so it is accepted; NaN never is.
        min_value = check_number("min_value", min_value, allow_none=True, allow_inf=True)
        max_value = check_number("max_value", max_value, allow_none=True, allow_inf=True)
        if min_value is None and max_value is None:
            raise ValueError(
                "At least one of min_value and max_value must be set. "
                "Received: min_value=None, max_value=None"
            )
        if min_value is not None and max_value is not None and min_value > max_value:
            raise ValueError(
                "Argument min_value must be <= max_value. "
                f"Received: min_value={min_value!r}, max_value={max_value!r}"
            )
        self.min_value = min_value
        self.max_value = max_value

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        if self.min_value is not None:
            w = ops.maximum(w, ops.cast(self.min_value, w.dtype))
        if self.max_value is not None:
            w = ops.minimum(w, ops.cast(self.max_value, w.dtype))
        return w

    def get_config(self):
        config = super().get_config()
        config.update(min_value=self.min_value, max_value=self.max_value)
        return config


@register("constraint")
class MinValue(ClipRange):
    """Keep every weight at or above `min_value` (strictly positive parameters, as PELU needs).

    `w <- max(w, min_value)`.

    Args:
        min_value: The lower bound. Defaults to 0.1, the floor Trottier et al. use for PELU.

    Raises:
        ValueError: if `min_value` is not a number.

    Example:
    ```python
    pelu = keras_nnperf.layers.PELU(alpha_constraint=MinValue(0.1))
    ```

    Reference:
        Trottier et al., 2017, "Parametric Exponential Linear Unit for Deep Convolutional
        Neural Networks".
    """

    def __init__(self, min_value: float = 0.1):
        if min_value is None:
            raise ValueError("Argument min_value must be a number. Received: min_value=None")
        super().__init__(min_value=min_value, max_value=None)

    def get_config(self):
        config = super().get_config()
        del config["max_value"]
        return config
