"""`GradientNoiseScale`: the gradient noise scale measured in the train step during `fit`.

The estimators (McCandlish et al. 2018, appendix A.1) are here too, as pure functions: the
doctor's standalone measurement (`keras_nnperf.diagnostics.noise_scale`) uses the same ones.
See that module for the model behind them.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from keras_nnperf.optimizers.fit_guard import guard_fit, unguard_fit
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    gradient_hook_names,
    refresh_train_function,
)
from keras_nnperf.optimizers.training_state import state_variable, uninstall_hook
from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number

_HOOK = "gradient_noise_scale"
_SCALARS = ("small_sq_sum", "count", "ema_gradient_sq", "ema_trace_sigma", "windows")


def noise_scale_estimates(small_sq, big_sq, small: float, big: float):
    """The unbiased `(|G|^2, tr(Sigma))` estimates from squared gradient norms at two batch sizes.

    `|G|^2 ~ (big * big_sq - small * small_sq) / (big - small)` and
    `tr(Sigma) ~ (small_sq - big_sq) / (1 / small - 1 / big)` (McCandlish et al. 2018, A.1).
    Works on floats, NumPy arrays and backend tensors alike.

    Args:
        small_sq: `|G_small|^2`, the squared norm of a gradient over `small` examples (or the
            mean of several such norms).
        big_sq: `|G_big|^2`, the squared norm of a gradient over `big` examples.
        small: The small batch size.
        big: The big batch size, `> small`.

    Returns:
        `(gradient_sq, trace_sigma)`. Either may come out negative on a single pair: average
        them over many batches before taking `trace_sigma / gradient_sq`.
    """
    gradient_sq = (big * big_sq - small * small_sq) / (big - small)
    trace_sigma = (small_sq - big_sq) / (1.0 / small - 1.0 / big)
    return gradient_sq, trace_sigma


def noise_scale_from(gradient_sq: float, trace_sigma: float) -> float:
    """`B_simple = tr(Sigma) / |G|^2`; NaN when the averaged `|G|^2` is not positive.

    A non-positive `|G|^2` estimate means the gradient is lost in the noise at the batch sizes
    measured: the noise scale is then far above them and cannot be read from these samples.
    """
    if not (math.isfinite(gradient_sq) and math.isfinite(trace_sigma)) or gradient_sq <= 0:
        return math.nan
    return max(trace_sigma, 0.0) / gradient_sq


def _dense(grad):
    """A TensorFlow `IndexedSlices` gradient (embeddings) as a dense tensor; others unchanged."""
    if type(grad).__name__ == "IndexedSlices":
        import tensorflow as tf

        return tf.convert_to_tensor(grad)
    return grad


@register("callback")
class GradientNoiseScale(keras.callbacks.Callback):
    """Measure the gradient noise scale in-graph during `fit`: the critical batch size.

    A gradient hook (`keras_nnperf.optimizers.gradient_hooks`) sees each step's batch gradient
    `g_t` (batch size `B`, the small batch). Over a window of `window` consecutive steps it adds
    up the gradients and their squared norms; at the window's end the big-batch gradient is
    their mean (`B_big = window * B`) and

        |G_small|^2 = mean_t |g_t|^2,   |G_big|^2 = |mean_t g_t|^2,
        |G|^2     ~ (B_big |G_big|^2 - B |G_small|^2) / (B_big - B),
        tr(Sigma) ~ (|G_small|^2 - |G_big|^2) / (1 / B - 1 / B_big).

    Both estimates go into exponential moving averages (decay `decay`, bias-corrected as in
    Adam), and at each epoch end `noise_scale = tr(Sigma) / |G|^2` goes into `logs` and
    `history` (NaN while the averaged `|G|^2` is not positive). The window's steps are taken
    at slightly different weights: with a learning rate of 0 the estimate is unbiased (checked
    against the analytic value in the tests); in training, the drift of `G` inside a window
    adds to the apparent noise, so keep `window` short (the default 8).

    Cost: one copy of the trainable weights (the gradient sum) and a few element-wise
    operations per step, inside the compiled step; no host sync; the values are read once per
    epoch. The hook and its variables are taken off the optimizer when `fit` ends, however it
    ends. Under a `tf.distribute` strategy the hook sees each replica's share of the gradient:
    use it with one replica.

    Args:
        batch_size: The batch size `fit` runs with (the hook cannot see it). A last, smaller
            batch of each epoch is counted as a full one.
        window: Consecutive steps averaged into the big-batch gradient, >= 2. Defaults to 8.
        decay: Decay of the moving averages, in [0, 1). Defaults to 0.9.

    Raises:
        ValueError: for a bad argument.

    Example:
    ```python
    noise = GradientNoiseScale(batch_size=32)
    model.fit(x, y, batch_size=32, epochs=5, callbacks=[noise])
    print(noise.history["noise_scale"])
    ```

    Reference:
        McCandlish, Kaplan, Amodei et al., 2018, "An Empirical Model of Large-Batch Training",
        appendix A.1.
    """

    def __init__(self, batch_size: int, window: int = 8, decay: float = 0.9):
        super().__init__()
        self.batch_size = check_integer("batch_size", batch_size, low=1)
        self.window = check_integer("window", window, low=2)
        self.decay = check_number("decay", decay, low=0.0, high=1.0, high_open=True)
        self.history: dict[str, list[float]] = {}
        self._state = None
        self._sums = None
        self._installed = None  # (optimizer, hook name) while the hook is on an optimizer

    def get_config(self):
        return {"batch_size": self.batch_size, "window": self.window, "decay": self.decay}

    def __deepcopy__(self, memo):
        # Keras Tuner deep-copies callbacks for every trial: a fresh one, with no model in it.
        return type(self)(**self.get_config())

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        taken = set(gradient_hook_names(optimizer))
        name, suffix = _HOOK, 1
        while name in taken:
            suffix += 1
            name = f"{_HOOK}_{suffix}"
        self._state = {stat: state_variable(optimizer, f"{name}/{stat}", 0.0) for stat in _SCALARS}
        self._sums = {
            id(variable): state_variable(
                optimizer, f"{name}/sum/{variable.path}", 0.0, variable.shape
            )
            for variable in self.model.trainable_variables
        }
        key = (_HOOK, self.batch_size, self.window, self.decay, tuple(self._sums))
        add_gradient_hook(optimizer, name, self._gather, key=key)
        self._installed = (optimizer, name)
        guard_fit(self.model, name, self._uninstall)
        refresh_train_function(self.model)

    def _gather(self, grads, variables):
        """The gradient hook: runs in-graph on every step the optimizer applies."""
        state = self._state
        small_sq = ops.zeros((), "float32")
        big_sq = ops.zeros((), "float32")
        new_sums = []
        for grad, variable in zip(grads, variables, strict=True):
            total = self._sums.get(id(variable))
            if grad is None or total is None:
                continue
            grad = ops.cast(_dense(grad), "float32")
            small_sq = small_sq + ops.sum(ops.square(grad))
            summed = total.value + grad
            big_sq = big_sq + ops.sum(ops.square(summed / self.window))
            new_sums.append((total, summed))
        count = state["count"].value + 1.0
        small_sum = state["small_sq_sum"].value + small_sq
        # Every write is unconditional, masked by `done` (a write inside a branch is lost under
        # JAX's stateless scope); the estimates are only used when the window is complete.
        done = ops.cast(count >= self.window, "float32")
        keep = 1.0 - done
        gradient_sq, trace_sigma = noise_scale_estimates(
            small_sum / self.window,
            big_sq,
            float(self.batch_size),
            float(self.batch_size * self.window),
        )
        for name, estimate in (("ema_gradient_sq", gradient_sq), ("ema_trace_sigma", trace_sigma)):
            ema = state[name].value
            updated = self.decay * ema + (1.0 - self.decay) * estimate
            state[name].assign(done * updated + keep * ema)
        state["windows"].assign(state["windows"].value + done)
        state["count"].assign(count * keep)
        state["small_sq_sum"].assign(small_sum * keep)
        for total, summed in new_sums:
            total.assign(summed * keep)
        return None

    def estimates(self) -> dict[str, float]:
        """The bias-corrected moving averages and their ratio, read from the variables now.

        Returns:
            `{"noise_scale", "gradient_sq", "trace_sigma", "windows"}`; NaN before the first
            window is complete.
        """
        values = {name: float(np.asarray(var)) for name, var in self._state.items()}
        windows = values["windows"]
        if windows < 1:
            return {k: math.nan for k in ("noise_scale", "gradient_sq", "trace_sigma")} | {
                "windows": 0.0
            }
        correction = 1.0 - self.decay**windows
        gradient_sq = values["ema_gradient_sq"] / correction
        trace_sigma = values["ema_trace_sigma"] / correction
        return {
            "noise_scale": noise_scale_from(gradient_sq, trace_sigma),
            "gradient_sq": gradient_sq,
            "trace_sigma": trace_sigma,
            "windows": windows,
        }

    def on_epoch_end(self, epoch, logs=None):
        _ = self.model  # on JAX, reading `model` syncs the training state into the variables
        values = self.estimates()
        for key in ("noise_scale", "gradient_sq", "trace_sigma"):
            self.history.setdefault(key, []).append(values[key])
        if logs is not None:
            logs["noise_scale"] = values["noise_scale"]

    def _uninstall(self):
        """Take the hook and its variables off the optimizer (idempotent)."""
        if self._installed is None:
            return
        optimizer, name = self._installed
        self._installed = None
        uninstall_hook(self.model, optimizer, name, f"{name}/")

    def on_train_end(self, logs=None):
        if self._installed is not None:
            unguard_fit(self.model, self._installed[1])
        self._uninstall()
