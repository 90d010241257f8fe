"""PELU: an ELU whose scale and saturation are learned and kept positive."""

from __future__ import annotations

from keras_nnperf.activations import pelu
from keras_nnperf.constraints import MinValue
from keras_nnperf.layers.parametric import ParametricActivation
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
    PARAMETERS = ("alpha", "beta")

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
        for name, initializer, regularizer, constraint in (
            ("alpha", alpha_initializer, alpha_regularizer, alpha_constraint),
            ("beta", beta_initializer, beta_regularizer, beta_constraint),
        ):
            self.set_parameter(name, initializer, regularizer, constraint, positive=True)

    def call(self, inputs):
        return pelu(inputs, self.alpha, self.beta)
