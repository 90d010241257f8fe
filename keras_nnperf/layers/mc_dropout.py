"""Monte Carlo dropout: dropout kept on at inference, and predictions with an uncertainty."""

from __future__ import annotations

import keras
import numpy as np

from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number, check_seed


@register("layer")
class MCDropout(keras.layers.Dropout):
    """Dropout that stays on at inference, so repeated predictions sample a posterior.

    Each call zeroes every input unit with probability `rate` and scales the rest by
    `1 / (1 - rate)`, in training and at inference alike. Averaging `T` stochastic forward passes
    approximates the predictive mean of a Bayesian network; their spread is the model's
    uncertainty. Use `mc_predict` to get both in one vectorised pass.

    Args:
        rate: Fraction of units to drop, in `[0, 1)`.
        noise_shape: Shape of the binary mask, broadcast to the inputs (for example
            `(batch, 1, channels)` to drop whole channels), or `None`.
        seed: An int for a reproducible sequence of masks, or `None`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A tensor of any shape.
        training: Ignored: the mask is always applied.

    Returns:
        A tensor of the same shape and dtype as the inputs.

    Raises:
        ValueError: if `rate` is not in `[0, 1)` or `seed` is neither an int nor `None`.

    Example:
    ```python
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, "relu"),
                              MCDropout(0.1), keras.layers.Dense(1)])
    mean, std = mc_predict(model, x, n_samples=30)
    ```

    Reference:
        Gal & Ghahramani, 2016, "Dropout as a Bayesian Approximation: Representing Model
        Uncertainty in Deep Learning", https://arxiv.org/abs/1506.02142
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        rate = check_number("rate", rate, low=0.0, high=1.0, high_open=True)
        seed = check_seed("seed", seed)
        if noise_shape is not None and not isinstance(noise_shape, (tuple, list)):
            raise ValueError(
                "Argument noise_shape must be a tuple, a list or None. "
                f"Received: noise_shape={noise_shape!r}"
            )
        super().__init__(rate=rate, noise_shape=noise_shape, seed=seed, **kwargs)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


def mc_predict(model, x, n_samples=30, batch_size=None):
    """Mean and standard deviation of `n_samples` stochastic forward passes (MC dropout).

    Each chunk of `batch_size` samples is tiled `n_samples` times and run through the model in a
    single compiled call (`predict_on_batch`), so the dropout masks of the copies are
    independent and nothing is retraced per pass. The last chunk is padded to `batch_size`
    rows (its own rows repeated; their outputs are dropped), so every call has one shape: the
    step is traced (compiled, on JAX) once per `batch_size` and `n_samples`, not again for each
    input length (a notebook calling it on inputs of varying length made TensorFlow warn of
    retracing). Pass a smaller `batch_size` for a few rows through a large model. `std` is the
    population standard deviation (`ddof=0`) over the passes. Any layer that is random at
    inference works; with none, `std` is 0.

    Args:
        model: A Keras model with one input and one output containing `MCDropout` layers.
        x: Inputs, a NumPy array or tensor with the batch axis first.
        n_samples: Number of stochastic passes, `>= 1`.
        batch_size: Input samples per call (each is tiled `n_samples` times). Defaults to 32.

    Returns:
        `(mean, std)`, two NumPy arrays shaped like `model.predict(x)`.

    Raises:
        ValueError: if `n_samples < 1` or `batch_size < 1`.

    Example:
    ```python
    mean, std = mc_predict(model, x_test, n_samples=30)
    uncertain = std.max(axis=-1) > 0.1
    ```

    Reference:
        Gal & Ghahramani, 2016, "Dropout as a Bayesian Approximation: Representing Model
        Uncertainty in Deep Learning", https://arxiv.org/abs/1506.02142
    """
    n_samples = check_integer("n_samples", n_samples, low=1)
    batch_size = check_integer("batch_size", batch_size, low=1, allow_none=True) or 32
    x = np.asarray(keras.ops.convert_to_numpy(x))
    means, stds = [], []
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size]
        rows = len(chunk)
        if rows < batch_size:  # the same shape as every other chunk: no new trace
            chunk = np.take(chunk, np.arange(batch_size) % rows, axis=0)
        tiled = np.tile(chunk, (n_samples,) + (1,) * (chunk.ndim - 1))
        outputs = np.asarray(model.predict_on_batch(tiled), dtype="float64")
        outputs = outputs.reshape((n_samples, batch_size) + outputs.shape[1:])[:, :rows]
        means.append(outputs.mean(axis=0))
        stds.append(outputs.std(axis=0))
    return np.concatenate(means).astype("float32"), np.concatenate(stds).astype("float32")
