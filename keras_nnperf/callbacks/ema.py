"""An exponential moving average of the weights, kept in-graph, used for validation.

`EMA` installs a gradient hook (`keras_nnperf.optimizers.gradient_hooks`) that updates one
optimizer-owned average per trainable variable inside the compiled train step (no host work per
step, and JAX's `stateless_apply` carries the averages), swaps the averages in for validation and
swaps the training weights back before training goes on.

**Keras's own EMA.** Every Keras 3 optimizer takes `use_ema=True` and `ema_momentum` (and
`ema_overwrite_frequency`): it keeps the same average as optimizer slots, updated right after
each update; at the end of `fit` it *overwrites* the model's weights with the average
(`finalize_variable_values`), and `keras.callbacks.SwapEMAWeights` swaps it in for evaluation.
Use it when you build the optimizer yourself and want the averaged model at the end; it is saved
with the optimizer. Use this callback when the optimizer is given (a compiled model, a tuner's
template), when the training weights must stay in the model after `fit` (to continue training
from them) while validation metrics come from the average, or to start averaging at an epoch
(after the high-rate phase) or with TensorFlow Addons' warm-up of the decay.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks.copy_by_config import CopyByConfig
from keras_nnperf.optimizers.fit_guard import guard_fit, unguard_fit
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    unscaled_optimizer,
)
from keras_nnperf.optimizers.training_state import state_variable, uninstall_hook
from keras_nnperf.registry import register
from keras_nnperf.validation import check_bool, check_choice, check_integer, check_number

_PREFIX = "ema/"
_NOT_STARTED = 2.0**62


def ema_decay(momentum, count, dynamic: bool):
    """The decay of averaged step `count` (1 for the first), as a float32 scalar.

    `momentum`, or with `dynamic=True` TensorFlow Addons' warm-up
    `min(momentum, (1 + count) / (10 + count))`.
    """
    if not dynamic:
        return ops.cast(momentum, "float32")
    count = ops.cast(count, "float32")
    return ops.minimum(ops.cast(momentum, "float32"), (1.0 + count) / (10.0 + count))


@register("callback", aliases=("exponential_moving_average", "moving_average"))
class EMA(CopyByConfig, keras.callbacks.Callback):
    """Keep an exponential moving average of the weights and validate with it.

    From the start of epoch `start_epoch` on, at every training step `t` (counting from 1 at the
    first averaged step), in-graph:

    `avg <- d_t * avg + (1 - d_t) * theta`,  with `d_t = momentum` (or, with `dynamic_decay`,
    `min(momentum, (1 + t) / (10 + t))`)

    where `theta` are the trainable weights at which step `t`'s gradient was taken (the hook runs
    just before the optimizer's update, so the last update enters at the next step). Before
    `start_epoch`, `avg` follows the weights. Validation during `fit` sees the average: the
    weights are swapped in at `on_test_begin` and back at `on_test_end`, so the logged `val_*`
    metrics (and what `EarlyStopping` or `ModelCheckpoint(save_best_only=True)` monitor) are the
    averaged model's. Training itself goes on from its own weights, and those are what a
    checkpoint saves or `restore_best_weights` restores at epoch end.

    Only trainable weights are averaged (as Keras's `use_ema` does); BatchNormalization's moving
    statistics are the live ones.

    After `fit` the averages are in `average_weights` (NumPy arrays, in the order of
    `model.trainable_weights`), and the model holds the training weights, or the average with
    `final_weights="average"`. `set_average_weights(model)` puts them in later. Each `fit`
    starts a new average.

    Args:
        momentum: The decay `d`, in [0, 1). Defaults to 0.99 (Keras's `ema_momentum`); use
            0.999 and above for long runs (the average spans about `1 / (1 - d)` steps).
        start_epoch: The epoch (0-based) at whose start averaging begins, >= 0. Defaults to 0.
        dynamic_decay: Warm the decay up as TensorFlow Addons' `MovingAverage` does, so early
            averages are not dominated by the first weights. Defaults to False.
        evaluate_with_average: Swap the average in for validation. Defaults to True.
        final_weights: `"training"` (default) or `"average"`: what the model holds after `fit`.

    Raises:
        ValueError: for a bad argument.

    Example:
    ```python
    ema = EMA(momentum=0.999, start_epoch=2)
    model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[ema])
    ema.set_average_weights(model)  # the averaged model
    ```

    Reference:
        Polyak and Juditsky, 1992, "Acceleration of Stochastic Approximation by Averaging";
        the exponential form as in TensorFlow's `ExponentialMovingAverage` and Keras's
        `use_ema`.
    """

    def __init__(
        self,
        momentum: float = 0.99,
        start_epoch: int = 0,
        dynamic_decay: bool = False,
        evaluate_with_average: bool = True,
        final_weights: str = "training",
    ):
        super().__init__()
        self._config = {
            "momentum": check_number("momentum", momentum, low=0.0, high=1.0, high_open=True),
            "start_epoch": check_integer("start_epoch", start_epoch, low=0),
            "dynamic_decay": check_bool("dynamic_decay", dynamic_decay),
            "evaluate_with_average": check_bool("evaluate_with_average", evaluate_with_average),
            "final_weights": check_choice("final_weights", final_weights, ("training", "average")),
        }
        for name, value in self._config.items():
            setattr(self, name, value)
        self.average_weights = None
        self._installed = None
        self._saved = None

    # -- training --------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        variables = list(self.model.trainable_weights)
        self._optimizer = optimizer
        self._start = state_variable(optimizer, _PREFIX + "start", _NOT_STARTED)
        self._start.assign(_NOT_STARTED)
        self._averages = []
        for index, variable in enumerate(variables):
            average = state_variable(
                optimizer, f"{_PREFIX}{index}", 0.0, variable.shape, variable.dtype
            )
            average.assign(ops.copy(variable.value))  # a copy: JAX must not share buffers
            self._averages.append(average)
        self._ids = [id(variable) for variable in variables]
        key = ("ema", self.momentum, self.dynamic_decay, len(variables))
        add_gradient_hook(optimizer, "ema", self._update, key=key)
        self._installed = optimizer
        guard_fit(self.model, "ema", self._uninstall)
        refresh_train_function(self.model)

    def _update(self, grads, variables):
        """The gradient hook: fold the current weights into the average, in-graph."""
        step = ops.cast(self._optimizer.iterations, "float32")
        start = self._start.value
        on = step >= start
        decay = ema_decay(self.momentum, step - start + 1.0, self.dynamic_decay)
        for variable, average in zip(variables, self._averages, strict=True):
            theta = ops.cast(variable.value, average.dtype)
            mixed = (
                ops.cast(decay, average.dtype) * average.value
                + ops.cast(1.0 - decay, average.dtype) * theta
            )
            average.assign(ops.where(on, mixed, theta))

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.start_epoch or (epoch > self.start_epoch and self._not_started()):
            iterations = ops.convert_to_numpy(self._optimizer.iterations)
            self._start.assign(float(iterations))

    def _not_started(self) -> bool:
        return float(ops.convert_to_numpy(self._start)) >= _NOT_STARTED

    def on_train_end(self, logs=None):
        if self._installed is None:
            return
        self.average_weights = [ops.convert_to_numpy(average) for average in self._averages]
        self._uninstall()
        unguard_fit(self.model, "ema")
        if self.final_weights == "average":
            self.set_average_weights(self.model)

    def _uninstall(self):
        """Take the hook and the averages off the optimizer (idempotent)."""
        optimizer, self._installed = self._installed, None
        if optimizer is None:
            return
        uninstall_hook(self.model, optimizer, "ema", _PREFIX)

    # -- validation ------------------------------------------------------------------------

    def on_test_begin(self, logs=None):
        if not self.evaluate_with_average or self._installed is None or self._saved is not None:
            return
        weights = self.model.trainable_weights
        self._saved = [ops.convert_to_numpy(weight) for weight in weights]
        for weight, average in zip(weights, self._averages, strict=True):
            weight.assign(ops.copy(average.value))
        # An exception during validation must not leave the average in the model.
        guard_fit(self.model, "ema/weights", self._restore, stale=False)

    def on_test_end(self, logs=None):
        self._restore()
        unguard_fit(self.model, "ema/weights")

    def _restore(self):
        saved, self._saved = self._saved, None
        if saved is not None:
            for weight, value in zip(self.model.trainable_weights, saved, strict=True):
                weight.assign(value)

    # -- after training --------------------------------------------------------------------

    def set_average_weights(self, model) -> None:
        """Put the averages of the last `fit` into `model`'s trainable weights.

        Raises:
            ValueError: before any `fit`, or for a model whose weights do not match.
        """
        if self.average_weights is None:
            raise ValueError(
                "No average yet: call fit with this callback first. Received: average_weights=None"
            )
        weights = model.trainable_weights
        shapes = [tuple(w.shape) for w in weights]
        if shapes != [tuple(np.shape(a)) for a in self.average_weights]:
            raise ValueError(
                "Argument model must have the trainable weights the average was taken of. "
                f"Received: model with weight shapes {shapes}"
            )
        for weight, value in zip(weights, self.average_weights, strict=True):
            weight.assign(value)


__all__ = ["EMA", "ema_decay"]
