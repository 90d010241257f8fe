"""The gradient noise scale: the batch size above which larger batches stop paying in steps.

McCandlish et al. (2018) model training at batch size `B` as needing
`steps = S_min (1 + B_noise / B)` optimizer steps and `examples = E_min (1 + B / B_noise)`
training examples. Below the noise scale, doubling the batch nearly halves the steps (parallel
compute is almost free); above it, the steps barely fall and the extra examples are wasted. The
"simple" noise scale `B_simple = tr(Sigma) / |G|^2` (per-example gradient covariance `Sigma`,
true gradient `G`) approximates that critical batch size.

Neither `tr(Sigma)` nor `|G|^2` is observable, but the squared norm of a batch gradient is, and
for a batch of `B` examples drawn independently `E |G_B|^2 = |G|^2 + tr(Sigma) / B`. Two batch
sizes give two equations and the paper's unbiased estimators (appendix A.1):

    |G|^2     ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
    tr(Sigma) ~ (|G_small|^2 - |G_big|^2) / (1 / B_small - 1 / B_big)

Each estimate is noisy, so both are averaged over many batches before their ratio is taken.

The big-batch gradient costs nothing extra here: it is the mean of `k` small-batch gradients,
and `|G_small|^2` is the mean of their `k` squared norms (the paper's data-parallel scheme, with
the devices replaced by micro-batches in `measure_noise_scale` and by `k` consecutive steps in
the `GradientNoiseScale` callback).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks.gradient_noise_scale import (
    GradientNoiseScale,
    noise_scale_estimates,
    noise_scale_from,
)
from keras_nnperf.diagnostics._float64 import resolve_loss
from keras_nnperf.diagnostics.gradients import value_and_gradients
from keras_nnperf.validation import check_integer, check_seed


@dataclasses.dataclass(frozen=True)
class NoiseScaleResult:
    """What `measure_noise_scale` measured.

    Attributes:
        noise_scale: `B_simple = trace_sigma / gradient_sq`, in examples (NaN when
            `gradient_sq <= 0`, see `noise_scale_from`). McCandlish et al.'s estimate of the
            critical batch size.
        gradient_sq: `|G|^2`, averaged over the measured batches.
        trace_sigma: `tr(Sigma)`, averaged over the measured batches.
        small: The small batch size.
        big: The big batch size.
        gradient_sq_samples: The per-batch `|G|^2` estimates, shape `(steps,)`.
        trace_sigma_samples: The per-batch `tr(Sigma)` estimates, shape `(steps,)`.
    """

    noise_scale: float
    gradient_sq: float
    trace_sigma: float
    small: int
    big: int
    gradient_sq_samples: np.ndarray
    trace_sigma_samples: np.ndarray

    @property
    def critical_batch_size(self) -> float:
        """The batch size where steps and examples are both twice their minimum (`noise_scale`)."""
        return self.noise_scale

    def steps_factor(self, batch_size: float) -> float:
        """Optimizer steps at `batch_size` over the minimum (large batch): `1 + B_noise / B`."""
        return 1.0 + self.noise_scale / batch_size

    def examples_factor(self, batch_size: float) -> float:
        """Examples processed at `batch_size` over the minimum (batch 1): `1 + B / B_noise`."""
        return 1.0 + batch_size / self.noise_scale


def _loss_function(model, loss):
    """`(x, y) -> scalar` training loss of `model` in inference mode, regularization included."""
    loss_fn = resolve_loss(model.loss if loss is None else loss, "float32")

    def compute(x, y):
        predictions = model(x, training=False)
        value = loss_fn(y, ops.cast(predictions, "float32"))
        extra = model.losses  # weight and activity penalties from this very call
        if extra:
            value = value + ops.cast(ops.sum(ops.stack(extra)), "float32")
        return value

    return compute


def _batch_gradients(compute, variables):
    """`(x, y) -> gradients of compute(x, y)` with respect to `variables`, compiled once.

    `value_and_gradients` runs eagerly, which on JAX dispatches every operation on its own
    (about 10 s for the doctor's 64 gradients of a small MLP on a loaded 2-core machine); the
    micro-batches all have one shape, so one trace serves them all. The variables' values are
    read at each call on TensorFlow and JAX; non-trainable ones (batch-normalization statistics)
    are constants of the trace, which is right because nothing changes them meanwhile.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def pure(values, x, y):
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                return compute(x, y)

        gradient = jax.jit(jax.grad(pure))
        return lambda x, y: gradient([v.value for v in variables], x, y)
    eager = lambda x, y: value_and_gradients(lambda: compute(x, y), variables)[1]  # noqa: E731
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(eager)
    return eager


def _take(data, indices):
    return keras.tree.map_structure(lambda a: np.asarray(a)[indices], data)


def measure_noise_scale(
    model: keras.Model,
    x,
    y,
    small: int = 32,
    big: int | None = None,
    steps: int = 16,
    loss=None,
    seed: int | None = 0,
) -> NoiseScaleResult:
    """Estimate the gradient noise scale `B_simple` of `model` on `(x, y)` at its current weights.

    Each of `steps` rounds draws `big` examples at random (with replacement, so each draw is
    independent as the estimator assumes), splits them into `big // small` micro-batches of
    `small`, and computes their gradients. `|G_small|^2` is the mean squared norm of the
    micro-batch gradients, `|G_big|^2` the squared norm of their mean: one pass over `big`
    examples per round. The `|G|^2` and `tr(Sigma)` estimates (`noise_scale_estimates`) are
    averaged over the rounds and `B_simple = tr(Sigma) / |G|^2`.

    The weights do not change. The model runs with `training=False` (dropout off, batch
    normalization on its moving statistics) and so does not count dropout's own noise. The
    noise scale usually grows as training lowers the loss (by 10x or more in the paper): one
    measured at initialization is a lower bound on the critical batch size later on.

    Args:
        model: A built Keras model, compiled with one loss unless `loss` is given.
        x: Inputs (an array or a nest of arrays).
        y: Targets.
        small: The small batch size, >= 1. Defaults to 32.
        big: The big batch size, a multiple of `small` and `> small`. Defaults to `8 * small`.
        steps: Rounds of `big` examples, >= 2. Defaults to 16.
        loss: A loss name, function or `keras.losses.Loss`; defaults to `model.loss`.
        seed: Seed for drawing the examples.

    Returns:
        A `NoiseScaleResult`.

    Raises:
        ValueError: for bad sizes, `x` and `y` of different lengths, or no loss.

    Example:
    ```python
    result = measure_noise_scale(model, x_train, y_train, small=32, steps=16)
    print(result.noise_scale, result.steps_factor(32), result.examples_factor(32))
    ```

    Reference:
        McCandlish, Kaplan, Amodei et al., 2018, "An Empirical Model of Large-Batch Training",
        appendix A.1.
    """
    small = check_integer("small", small, low=1)
    big = check_integer("big", 8 * small if big is None else big, low=small + 1)
    if big % small:
        raise ValueError(
            f"Argument big must be a multiple of small ({small}). Received: big={big!r}"
        )
    steps = check_integer("steps", steps, low=2)
    seed = check_seed("seed", seed)
    num_samples = len(np.asarray(keras.tree.flatten(x)[0]))
    if y is None or len(np.asarray(keras.tree.flatten(y)[0])) != num_samples:
        raise ValueError(
            "x and y must hold the same number of samples. Received: "
            f"{num_samples} inputs and {None if y is None else len(keras.tree.flatten(y)[0])} "
            "targets"
        )
    if not model.built:
        model(_take(x, np.arange(1)))
    variables = list(model.trainable_variables)
    gradients = _batch_gradients(_loss_function(model, loss), variables)
    rng = np.random.default_rng(seed)
    parts = big // small
    gradient_sq, trace_sigma = [], []
    for _ in range(steps):
        indices = rng.integers(0, num_samples, size=big)
        total = None
        small_sq = 0.0
        for part in np.split(indices, parts):
            xb, yb = _take(x, part), _take(y, part)
            grads = gradients(xb, yb)
            flat = np.concatenate(
                [ops.convert_to_numpy(g).astype("float64").ravel() for g in grads]
            )
            small_sq += float(flat @ flat) / parts
            total = flat if total is None else total + flat
        mean = total / parts
        g2, s = noise_scale_estimates(small_sq, float(mean @ mean), small, big)
        gradient_sq.append(g2)
        trace_sigma.append(s)
    gradient_sq = np.array(gradient_sq)
    trace_sigma = np.array(trace_sigma)
    g2, s = float(gradient_sq.mean()), float(trace_sigma.mean())
    return NoiseScaleResult(noise_scale_from(g2, s), g2, s, small, big, gradient_sq, trace_sigma)


__all__ = [
    "GradientNoiseScale",
    "NoiseScaleResult",
    "measure_noise_scale",
    "noise_scale_estimates",
    "noise_scale_from",
]
