"""Stochastic weight averaging: average the weights met at the end of each cycle from an epoch on.

`SWA` keeps the running average on the host (one read of the weights per averaged epoch, none
per step), optionally drives the learning rate from `start_epoch` on (a constant rate or the
paper's cyclic one) through the optimizer's composed learning rate
(`keras_nnperf.callbacks.learning_rate_slots`, slot `"cycle"`), and at the end of `fit` puts the
average into the model and recomputes BatchNormalization's statistics for it
(`update_batch_norm`, one forward pass over data the user gives).
"""

from __future__ import annotations

import copy
import warnings

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks import learning_rate_slots as slots
from keras_nnperf.callbacks.copy_by_config import CopyByConfig
from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number


def _all_layers(model) -> list:
    """Every layer inside `model`, nested models and layers held by layers included.

    Keras 3 has no public recursive listing (`model.layers` is one level); `_flatten_layers` is
    the one Keras uses itself, read here only (`tests/callbacks/test_swa.py` fails if it moves).
    """
    return list(model._flatten_layers(include_self=False, recursive=True))


def batch_norm_layers(model) -> list:
    """The `BatchNormalization` layers of `model`, at any depth."""
    return [
        layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)
    ]


def _batches(data, batch_size: int, steps: int | None):
    """Input batches from arrays, `(x, y[, w])` tuples, `PyDataset`s or any iterable."""
    x = data[0] if isinstance(data, tuple) else data
    if isinstance(x, (np.ndarray, list)) or hasattr(x, "shape"):
        x = np.asarray(x)
        batches = (x[i : i + batch_size] for i in range(0, len(x), batch_size))
    elif isinstance(data, keras.utils.PyDataset):
        batches = (data[i] for i in range(len(data)))
    else:
        batches = iter(data)
    for count, batch in enumerate(batches):
        if steps is not None and count >= steps:
            return
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def update_batch_norm(model, data, batch_size: int = 32, steps: int | None = None) -> int:
    """Recompute every BatchNormalization layer's moving statistics for the current weights.

    One forward pass in training mode over `data`, with each layer's momentum set so that the
    moving statistics become the plain average over the batches: for batch `k` (0-based),
    `momentum = k / (k + 1)`, so `moving = (1 / n) * sum_k stat_k` after `n` batches (the mean of
    the batch means and of the batch variances, Keras's own definition). The layers' momenta are
    put back afterwards. Dropout is active during the pass, as in PyTorch's `update_bn`.

    Args:
        model: A built Keras model.
        data: Training inputs: an array, an `(x, y)` or `(x, y, sample_weight)` tuple of arrays,
            a `keras.utils.PyDataset`, a `tf.data.Dataset` (TensorFlow) or any iterable of
            batches (`x` or `(x, ...)`).
        batch_size: Batch size for array data, >= 1. Defaults to 32.
        steps: At most this many batches, >= 1, or None for all. Defaults to None.

    Returns:
        The number of batches used (0 when the model has no BatchNormalization layer).

    Raises:
        ValueError: for a bad `batch_size` or `steps`, or `data` that yields no batch.

    Example:
    ```python
    update_batch_norm(model, x_train, batch_size=64)
    ```

    Reference:
        Izmailov et al., 2018, "Averaging Weights Leads to Wider Optima and Better
        Generalization", section 3.2 (batch normalization).
    """
    batch_size = check_integer("batch_size", batch_size, low=1)
    steps = check_integer("steps", steps, low=1, allow_none=True)
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    count = 0
    try:
        for count, batch in enumerate(_batches(data, batch_size, steps), start=1):
            for layer in layers:
                layer.momentum = (count - 1) / count
            model(batch, training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    if count == 0:
        raise ValueError(f"Argument data must yield at least one batch. Received: data={data!r}")
    return count


def swa_learning_rate(step, start, cycle_steps, max_lr, swa_lr):
    """The paper's cyclic rate (NumPy reference): linear from `max_lr` down to `swa_lr` per cycle.

    `alpha(i) = (1 - t(i)) alpha_1 + t(i) alpha_2`, `t(i) = (mod(i - 1, c) + 1) / c` with
    `i = step - start + 1` the 1-based step since `start` and `c = cycle_steps`.
    """
    i = step - start + 1
    t = ((i - 1) % cycle_steps + 1) / cycle_steps
    return (1 - t) * max_lr + t * swa_lr


@register("callback", aliases=("stochastic_weight_averaging",))
class SWA(CopyByConfig, keras.callbacks.Callback):
    """Stochastic weight averaging (SWA): average the weights at the end of each cycle.

    From epoch `start_epoch` (0-based) on, at the end of every `cycle_length`-th epoch, the
    trainable weights `w` enter the running average

    `w_swa <- (n * w_swa + w) / (n + 1)`,  `n <- n + 1`

    and at the end of `fit` the model gets `w_swa`; BatchNormalization statistics are then
    recomputed for it with one pass over `batch_norm_data` (see `update_batch_norm`).

    The learning rate from `start_epoch` on:

    * `swa_lr=None` (default): untouched; the optimizer's own float or schedule (or a `OneCycle`
      or other rate callback) goes on, and SWA only averages;
    * `swa_lr` alone: constant `alpha_2 = swa_lr`;
    * `swa_lr` and `cycle_max_lr`: the paper's cyclic rate, linear from `alpha_1 = cycle_max_lr`
      down to `alpha_2 = swa_lr` over each cycle of `c = cycle_length * steps_per_epoch` steps,
      `alpha(i) = (1 - t(i)) alpha_1 + t(i) alpha_2` with `t(i) = (mod(i - 1, c) + 1) / c`, so
      each averaged model is taken where the rate is lowest.

    A rate is set through the optimizer's composed learning rate (slot `"cycle"`): a `WarmUp`
    or `PerformanceScheduler` in the same `fit` composes with it, a `OneCycle` cannot (both drive
    the cycle: a `ValueError` names them), and the optimizer gets its own rate back at the end.

    Args:
        start_epoch: The first epoch whose end can be averaged, >= 0. Izmailov et al. start
            after about 75% of the training budget. Defaults to 0.
        swa_lr: `alpha_2`, the rate from `start_epoch` on, > 0, or None to leave the rate alone.
        cycle_max_lr: `alpha_1` of the cyclic rate, >= `swa_lr`, or None for a constant rate.
            Needs `swa_lr`.
        cycle_length: Epochs per cycle, `c` in epochs, >= 1: one model is averaged per cycle.
            Defaults to 1.
        batch_norm_data: Training inputs for recomputing BatchNormalization statistics at the
            end (see `update_batch_norm`), or None. Not part of the config.
        batch_norm_batch_size: Batch size for array `batch_norm_data`, >= 1. Defaults to 32.
        verbose: 0 or 1: print when the average is put into the model.

    Raises:
        ValueError: for a bad argument; during `fit`, for a cyclic rate when the number of
            steps per epoch is unknown at `start_epoch` (pass `steps_per_epoch` to `fit`).

    Example:
    ```python
    swa = SWA(start_epoch=15, swa_lr=0.01, batch_norm_data=x_train)
    model.fit(x_train, y_train, epochs=20, callbacks=[swa])  # the model now holds w_swa
    ```

    Reference:
        Izmailov, Podoprikhin, Garipov, Vetrov and Wilson, 2018, "Averaging Weights Leads to
        Wider Optima and Better Generalization" (UAI 2018), Algorithm 1.
    """

    def __init__(
        self,
        start_epoch: int = 0,
        swa_lr: float | None = None,
        cycle_max_lr: float | None = None,
        cycle_length: int = 1,
        batch_norm_data=None,
        batch_norm_batch_size: int = 32,
        verbose: int = 0,
    ):
        super().__init__()
        swa_lr = check_number("swa_lr", swa_lr, low=0.0, low_open=True, allow_none=True)
        cycle_max_lr = check_number(
            "cycle_max_lr", cycle_max_lr, low=0.0, low_open=True, allow_none=True
        )
        if cycle_max_lr is not None and (swa_lr is None or cycle_max_lr < swa_lr):
            raise ValueError(
                "Argument cycle_max_lr must be >= swa_lr, and needs swa_lr. Received: "
                f"cycle_max_lr={cycle_max_lr!r} with swa_lr={swa_lr!r}"
            )
        self._config = {
            "start_epoch": check_integer("start_epoch", start_epoch, low=0),
            "swa_lr": swa_lr,
            "cycle_max_lr": cycle_max_lr,
            "cycle_length": check_integer("cycle_length", cycle_length, low=1),
            "batch_norm_batch_size": check_integer(
                "batch_norm_batch_size", batch_norm_batch_size, low=1
            ),
            "verbose": check_integer("verbose", verbose, low=0, high=1),
        }
        for name, value in self._config.items():
            setattr(self, name, value)
        self.batch_norm_data = batch_norm_data
        self.averaged_models = 0
        self._average = None
        self._claimed = False

    def __deepcopy__(self, memo):
        # The data is shared, not copied (it may be a dataset that cannot be copied).
        config = copy.deepcopy(self.get_config(), memo)
        return type(self)(**config, batch_norm_data=self.batch_norm_data)

    def on_train_begin(self, logs=None):
        self.averaged_models = 0
        self._average = None
        self._epoch_start = None
        self._previous_epoch_steps = None
        if self.swa_lr is not None:
            slots.claim(self.model, "cycle", self, variant="linear")
            self._claimed = True

    def on_epoch_begin(self, epoch, logs=None):
        step = int(ops.convert_to_numpy(unscaled_optimizer(self.model.optimizer).iterations))
        if self._epoch_start is not None:
            self._previous_epoch_steps = step - self._epoch_start
        self._epoch_start = step
        since = epoch - self.start_epoch
        if self._claimed and since >= 0 and since % self.cycle_length == 0:
            self._start_cycle(step)

    def _start_cycle(self, step: int) -> None:
        """Assign the rate of the cycle whose first update is `step` (no retrace)."""
        high = self.swa_lr if self.cycle_max_lr is None else self.cycle_max_lr
        cycle_steps = 1
        if high != self.swa_lr:
            per_epoch = (self.params or {}).get("steps") or self._previous_epoch_steps
            if not per_epoch:
                raise ValueError(
                    "SWA's cyclic rate needs the number of steps per epoch, unknown at "
                    "start_epoch: pass steps_per_epoch to fit. Received: steps=None"
                )
            cycle_steps = int(per_epoch) * self.cycle_length
        # The fall of the composed cycle, begun one step early so that the cycle's first update
        # already has t = 1 / c, and reaching swa_lr at its last (linear, see `composed`).
        begin = step - 1
        slots.installed(self.model.optimizer).assign(
            cycle_on=1.0,
            cycle_start=begin,
            cycle_peak=begin,
            cycle_fall_start=begin,
            cycle_end=begin + cycle_steps,
            cycle_initial=high,
            cycle_max=high,
            cycle_fall_from=high,
            cycle_floor=self.swa_lr,
            cycle_cosine=0.0,
        )

    def on_epoch_end(self, epoch, logs=None):
        since = epoch - self.start_epoch
        if since < 0 or (since + 1) % self.cycle_length != 0:
            return
        weights = [ops.convert_to_numpy(w).astype("float64") for w in self.model.trainable_weights]
        if self._average is None:
            self._average = weights
        else:
            n = self.averaged_models
            self._average = [
                (n * a + w) / (n + 1) for a, w in zip(self._average, weights, strict=True)
            ]
        self.averaged_models += 1

    def on_train_end(self, logs=None):
        if self._claimed:
            self._claimed = False
            slots.release(self.model, self)
        if self._average is None:
            return
        for weight, value in zip(self.model.trainable_weights, self._average, strict=True):
            weight.assign(value.astype(keras.backend.standardize_dtype(weight.dtype)))
        batches = 0
        if self.batch_norm_data is not None:
            batches = update_batch_norm(
                self.model, self.batch_norm_data, batch_size=self.batch_norm_batch_size
            )
        elif batch_norm_layers(self.model):
            warnings.warn(
                "SWA put the averaged weights into a model with BatchNormalization layers, "
                "whose statistics belong to the last training weights. Pass batch_norm_data "
                "to SWA, or call keras_nnperf.callbacks.swa.update_batch_norm(model, x).",
                RuntimeWarning,
                stacklevel=2,
            )
        if self.verbose:
            print(
                f"\nSWA: averaged {self.averaged_models} models"
                + (f"; BatchNormalization recomputed over {batches} batches." if batches else ".")
            )


__all__ = ["SWA", "batch_norm_layers", "swa_learning_rate", "update_batch_norm"]
