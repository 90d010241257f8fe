"""PELU: an ELU whose scale and saturation are learned and kept positive."""

from __future__ import annotations

import keras

from keras_nnperf.activations import pelu
from keras_nnperf.constraints import MinValue
from keras_nnperf.layers.parametric import (
    ParametricActivation,
    get_constraint,
    get_initializer,
    get_regularizer,
)
from keras_nnperf.registry import register

_DEFAULT = "default"


@register("activation", name="pelu")
@register("layer", name="pelu")
class PELU(ParametricActivation):
    """Parametric ELU: `f(x) = (a / b) x` for `x >= 0`, `a (exp(x / b) - 1)` for `x < 0`.

    `a` sets the negative saturation (`-a`) and `b` how fast it is reached; the slope at 0 is
    `a / b` on both sides, so the function stays differentiable. `a = b = 1` is ELU. Both must stay
    positive, so each has a `MinValue(0.1)` constraint by default, as in the paper.

    Args:
        alpha_initializer: Initial `a`: a positive number (-> `Constant`) or anything
            `keras.initializers.get` takes. Defaults to 1.0.
        beta_initializer: Initial `b`, the same way. Defaults to 1.0.
        mode: `"shared"` (one `a` and one `b` for the layer) or `"channel"` (one per channel,
            the last axis).
        alpha_regularizer: Anything `keras.regularizers.get` takes, or `None`.
        beta_regularizer: Anything `keras.regularizers.get` takes, or `None`.
        alpha_constraint: Defaults to `MinValue(0.1)`; `None` removes it.
        beta_constraint: Defaults to `MinValue(0.1)`; `None` removes it.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A float tensor of any shape (batch first).

    Returns:
        A tensor of the same shape and dtype as the inputs.

    Raises:
        ValueError: for an unknown `mode`, a number initializer `<= 0`, or an argument no Keras
            getter understands.

    Example:
    ```python
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32), PELU(mode="channel")])
    ```

    Reference:
        Trottier et al., 2017, "Parametric Exponential Linear Unit for Deep Convolutional Neural
        Networks", https://arxiv.org/abs/1605.09332
    """

    _ALLOWED_MODES = ("shared", "channel")

    def __init__(
        self,
        alpha_initializer=1.0,
        beta_initializer=1.0,
        mode="shared",
        alpha_regularizer=None,
        beta_regularizer=None,
        alpha_constraint=_DEFAULT,
        beta_constraint=_DEFAULT,
        **kwargs,
    ):
        super().__init__(mode=mode, **kwargs)
        if alpha_constraint is _DEFAULT:
            alpha_constraint = MinValue(0.1)
        if beta_constraint is _DEFAULT:
            beta_constraint = MinValue(0.1)
        self.alpha_initializer = get_initializer("alpha_initializer", alpha_initializer, True)
        self.beta_initializer = get_initializer("beta_initializer", beta_initializer, True)
        self.alpha_regularizer = get_regularizer("alpha_regularizer", alpha_regularizer)
        self.beta_regularizer = get_regularizer("beta_regularizer", beta_regularizer)
        self.alpha_constraint = get_constraint("alpha_constraint", alpha_constraint)
        self.beta_constraint = get_constraint("beta_constraint", beta_constraint)

    def build(self, input_shape):
        self.alpha = self.add_parameter(
            "alpha",
            input_shape,
            self.alpha_initializer,
            self.alpha_regularizer,
            self.alpha_constraint,
        )
        self.beta = self.add_parameter(
            "beta",
            input_shape,
            self.beta_initializer,
            self.beta_regularizer,
            self.beta_constraint,
        )

    def call(self, inputs):
        return pelu(inputs, self.alpha, self.beta)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha_initializer": keras.initializers.serialize(self.alpha_initializer),
                "beta_initializer": keras.initializers.serialize(self.beta_initializer),
                "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
                "beta_regularizer": keras.regularizers.serialize(self.beta_regularizer),
                "alpha_constraint": keras.constraints.serialize(self.alpha_constraint),
                "beta_constraint": keras.constraints.serialize(self.beta_constraint),
            }
        )
        return config
