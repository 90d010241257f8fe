"""Record, in-graph, the learning rate and momentum the optimizer really applies at each step.

The tests and the documentation plots use it to check a schedule against what training did, not
against what a callback meant to do. It reads the values inside the optimizer's `apply` (through
a gradient hook), so it sees exactly what `update_step` sees, and writes them into preallocated
optimizer-owned variables (so JAX's stateless step carries them) indexed by
`optimizer.iterations`: no host work per step.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks.hyperparameters import momentum_attribute
from keras_nnperf.callbacks.learning_rate_slots import _fit_guard
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    unscaled_optimizer,
)
from keras_nnperf.optimizers.training_state import state_variable, uninstall_hook
from keras_nnperf.validation import check_integer

PREFIX = "recording/"
HOOK = "applied_hyperparameters"


class AppliedHyperparameters(keras.callbacks.Callback):
    """Records `learning_rate` and `momentum`/`beta_1` as applied at steps `0 .. capacity - 1`.

    Put it **last** in `callbacks=[...]`: hooks run in the order they are added, and the values
    read are those the optimizer uses after every earlier hook ran. Values recorded in earlier
    `fit` calls are kept.

    Args:
        capacity: Number of steps to record (by absolute `optimizer.iterations`), > 0.

    Raises:
        ValueError: if `capacity` is not a positive integer.

    Example:
    ```python
    recorder = AppliedHyperparameters(capacity=200)
    model.fit(x, y, callbacks=[OneCycle(max_lr=1e-2), recorder])
    recorder.learning_rates[:10]
    ```
    """

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = check_integer("capacity", capacity, low=1)
        self._recorded = {
            "learning_rates": np.full(self.capacity, np.nan, "float32"),
            "momenta": np.full(self.capacity, np.nan, "float32"),
        }
        self._variables = None
        self.attribute = None

    def on_train_begin(self, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        self.attribute = momentum_attribute(optimizer)
        self._variables = {
            name: state_variable(optimizer, PREFIX + name, values, shape=(self.capacity,))
            for name, values in self._recorded.items()
        }
        rates, momenta = self._variables["learning_rates"], self._variables["momenta"]
        for name, variable in self._variables.items():
            variable.assign(self._recorded[name])
        attribute, last = self.attribute, self.capacity - 1

        def record(grads, variables):
            step = ops.minimum(ops.cast(optimizer.iterations, "int32"), last)
            learning_rate = ops.reshape(ops.cast(optimizer.learning_rate, "float32"), [1])
            rates.assign(ops.slice_update(ops.cast(rates, "float32"), [step], learning_rate))
            if attribute is not None:
                momentum = ops.reshape(ops.cast(getattr(optimizer, attribute), "float32"), [1])
                momenta.assign(ops.slice_update(ops.cast(momenta, "float32"), [step], momentum))

        add_gradient_hook(optimizer, HOOK, record, key=(HOOK, id(rates), id(momenta), attribute))
        guard = _fit_guard()
        if guard is not None:
            guard.guard_fit(self.model, PREFIX, self._finish)
        refresh_train_function(self.model)

    def _finish(self):
        optimizer = unscaled_optimizer(self.model.optimizer)
        if self._variables is not None:
            for name, variable in self._variables.items():
                self._recorded[name] = np.asarray(ops.convert_to_numpy(variable))
            self._variables = None
        uninstall_hook(self.model, optimizer, HOOK, PREFIX)

    def on_train_end(self, logs=None):
        self._finish()
        guard = _fit_guard()
        if guard is not None:
            guard.unguard_fit(self.model, PREFIX)

    def _values(self, name: str) -> np.ndarray:
        if self._variables is not None:  # during fit
            return np.asarray(ops.convert_to_numpy(self._variables[name]))
        return self._recorded[name].copy()

    @property
    def learning_rates(self) -> np.ndarray:
        """Learning rate applied at each step (NaN where no step ran)."""
        return self._values("learning_rates")

    @property
    def momenta(self) -> np.ndarray:
        """`momentum` (SGD) or `beta_1` (Adam family) applied at each step, NaN if none."""
        return self._values("momenta")
