"""PReLU: a leaky ReLU whose negative slope is learned."""

from __future__ import annotations

from keras_nnperf.activations import prelu
from keras_nnperf.layers.parametric import ParametricActivation
from keras_nnperf.registry import register


@register("activation", name="prelu")
@register("layer", name="prelu")
class PReLU(ParametricActivation):
    """Parametric ReLU: `f(x) = x` for `x >= 0`, `f(x) = alpha * x` for `x < 0`, `alpha` learned.

    Use it when ReLU units die (stop activating for every input): the learned slope keeps a
    gradient flowing through negative inputs. He et al. learn one slope per channel and start it
    at 0.25; that is the default here. `keras.layers.PReLU` learns one per element
    (`mode="element"`) and starts at 0.

    Args:
        alpha_initializer: A number (-> `Constant`) or anything `keras.initializers.get` takes.
            Defaults to 0.25.
        mode: `"channel"` (one slope per channel, the last axis), `"shared"` (one for the layer)
            or `"element"` (one per element of a sample).
        alpha_regularizer: Anything `keras.regularizers.get` takes, or `None`.
        alpha_constraint: Anything `keras.constraints.get` takes, or `None`; for example
            `keras_nnperf.constraints.ClipRange(0.0, 1.0)`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A float tensor of any shape (batch first).

    Returns:
        A tensor of the same shape and dtype as the inputs.

    Raises:
        ValueError: for an unknown `mode` or an argument no Keras getter understands.

    Example:
    ```python
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32), PReLU()])
    dense = keras.layers.Dense(32, activation=keras_nnperf.activation("prelu"))
    ```

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level Performance on
        ImageNet Classification", https://arxiv.org/abs/1502.01852
    """

    PARAMETERS = ("alpha",)

    def __init__(
        self,
        alpha_initializer=0.25,
        mode="channel",
        alpha_regularizer=None,
        alpha_constraint=None,
        **kwargs,
    ):
        super().__init__(mode=mode, **kwargs)
        self.set_parameter("alpha", alpha_initializer, alpha_regularizer, alpha_constraint)

    def call(self, inputs):
        return prelu(inputs, self.alpha)
