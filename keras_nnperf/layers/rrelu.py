"""RReLU: a leaky ReLU whose negative slope is random while training."""

from __future__ import annotations

import keras

from keras_nnperf.activations import rrelu
from keras_nnperf.registry import register
from keras_nnperf.validation import check_number, check_seed


@register("activation", name="rrelu")
@register("layer", name="rrelu")
class RReLU(keras.layers.Layer):
    """Randomized leaky ReLU: `f(x) = x` for `x >= 0`, `f(x) = a * x` for `x < 0`.

    While training, every element gets its own slope `a ~ U(lower, upper)`, drawn afresh at every
    step; at inference `a = (lower + upper) / 2`. The random slopes act as a regularizer and keep
    negative units alive. Slopes come from `keras_nnperf.random_hash.hash_uniform`, a
    counter-based hash of the element index and a per-call seed that runs at LeakyReLU speed under
    XLA (where `keras.random.uniform` is two orders of magnitude slower). On TensorFlow without
    XLA the activation runs its forward and backward passes as two small XLA-compiled kernels, so
    it costs about 1.6-2x LeakyReLU instead of 6-8x, and draws the same slopes as under XLA. The
    per-call seed is advanced in-graph by a `keras.random.SeedGenerator`, so a fixed `seed`
    reproduces the whole sequence of slopes, compiled or not. Under `tf.distribute`, every replica
    draws the same slopes for the same element position, as Keras's `Dropout` does.

    Args:
        lower: Lower bound of the slope, `>= 0`. Defaults to 1/8.
        upper: Upper bound of the slope, `>= lower`. Defaults to 1/3.
        seed: An int for a reproducible sequence of slopes, or `None`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A float tensor of any shape.
        training: Whether to draw random slopes (`True`) or use the mean slope.

    Returns:
        A tensor of the same shape and dtype as the inputs.

    Raises:
        ValueError: unless `0 <= lower <= upper` are finite numbers, or if `seed` is neither an
            int nor `None`.

    Example:
    ```python
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32), RReLU(seed=0)])
    ```

    Reference:
        Xu et al., 2015, "Empirical Evaluation of Rectified Activations in Convolutional Network",
        https://arxiv.org/abs/1505.00853
    """

    def __init__(self, lower=1.0 / 8.0, upper=1.0 / 3.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        lower = check_number("lower", lower, low=0.0)
        upper = check_number("upper", upper)
        if upper < lower:
            raise ValueError(
                f"Argument upper must be >= lower. Received: lower={lower!r}, upper={upper!r}"
            )
        self.lower = lower
        self.upper = upper
        self.seed = check_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if training:
            return rrelu(inputs, self.lower, self.upper, seed=self.seed_generator)
        return rrelu(inputs, self.lower, self.upper)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"lower": self.lower, "upper": self.upper, "seed": self.seed})
        return config
