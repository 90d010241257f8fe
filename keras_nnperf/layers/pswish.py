"""PSwish: Swish with a learned sharpness."""

from __future__ import annotations

from keras_nnperf.activations import pswish
from keras_nnperf.layers.parametric import ParametricActivation
from keras_nnperf.registry import register
from keras_nnperf.validation import check_bool


@register("activation", name="pswish")
@register("layer", name="pswish")
class PSwish(ParametricActivation):
    """Parametric Swish: `f(x) = x * sigmoid(beta * x)`, `beta` learned.

    A smooth, non-monotonic activation: `beta = 1` is SiLU, `beta -> inf` approaches ReLU and
    `beta = 0` is the linear `x / 2`, so the network picks how ReLU-like each unit is.

    Args:
        beta_initializer: A number (-> `Constant`) or anything `keras.initializers.get` takes.
            Defaults to 1.0.
        mode: `"shared"` (one `beta` for the layer) or `"channel"` (one per channel, the last
            axis).
        beta_regularizer: Anything `keras.regularizers.get` takes, or `None`.
        beta_constraint: Anything `keras.constraints.get` takes, or `None`.
        trainable: Whether `beta` is learned; `False` gives a fixed-`beta` Swish.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A float tensor of any shape (batch first).

    Returns:
        A tensor of the same shape and dtype as the inputs.

    Raises:
        ValueError: for an unknown `mode` or an argument no Keras getter understands.

    Example:
    ```python
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32), PSwish()])
    ```

    Reference:
        Ramachandran et al., 2017, "Searching for Activation Functions",
        https://arxiv.org/abs/1710.05941
    """

    _ALLOWED_MODES = ("shared", "channel")
    PARAMETERS = ("beta",)

    def __init__(
        self,
        beta_initializer=1.0,
        mode="shared",
        beta_regularizer=None,
        beta_constraint=None,
        trainable=True,
        **kwargs,
    ):
        check_bool("trainable", trainable)
        super().__init__(mode=mode, trainable=trainable, **kwargs)
        self.set_parameter("beta", beta_initializer, beta_regularizer, beta_constraint)

    def call(self, inputs):
        return pswish(inputs, self.beta)
