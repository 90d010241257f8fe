"""Record, in-graph, the learning rate and momentum the optimizer really applies at each step.

The tests and the documentation plots use it to check a schedule against what training did, not
against what a callback meant to do. It reads the values inside the optimizer's `apply` (through
a gradient hook), so it sees exactly what `update_step` sees, and writes them into a preallocated
variable indexed by `optimizer.iterations`: no host work per step.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks._learning_rate import momentum_attribute
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)


class AppliedHyperparameters(keras.callbacks.Callback):
    """Records `learning_rate` and `momentum`/`beta_1` as applied at steps `0 .. capacity - 1`.

    Put it **last** in `callbacks=[...]`: hooks run in the order they are added, and the values
    read are those the optimizer uses after every earlier hook ran.

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
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
            raise ValueError(f"Argument capacity must be > 0. Received: capacity={capacity!r}")
        self.capacity = capacity
        self._learning_rates = None
        self._momenta = None
        self.attribute = None

    def on_train_begin(self, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        self.attribute = momentum_attribute(optimizer)
        if self._learning_rates is None:
            with self.model.distribute_strategy.scope():
                self._learning_rates, self._momenta = (
                    keras.Variable(
                        np.full(self.capacity, np.nan, "float32"),
                        trainable=False,
                        name=name,
                        aggregation="only_first_replica",
                    )
                    for name in ("applied_learning_rate", "applied_momentum")
                )

        def record(grads, variables):
            step = ops.minimum(ops.cast(optimizer.iterations, "int32"), self.capacity - 1)
            learning_rate = ops.cast(optimizer.learning_rate, "float32")
            self._learning_rates.assign(
                ops.slice_update(self._learning_rates, [step], ops.reshape(learning_rate, [1]))
            )
            if self.attribute is not None:
                momentum = ops.cast(getattr(optimizer, self.attribute), "float32")
                self._momenta.assign(
                    ops.slice_update(self._momenta, [step], ops.reshape(momentum, [1]))
                )

        add_gradient_hook(optimizer, "applied_hyperparameters", record)
        refresh_train_function(self.model)

    def on_train_end(self, logs=None):
        remove_gradient_hook(self.model.optimizer, "applied_hyperparameters")
        refresh_train_function(self.model)

    @property
    def learning_rates(self) -> np.ndarray:
        """Learning rate applied at each step (NaN where no step ran)."""
        return np.asarray(ops.convert_to_numpy(self._learning_rates))

    @property
    def momenta(self) -> np.ndarray:
        """`momentum` (SGD) or `beta_1` (Adam family) applied at each step, NaN if none."""
        return np.asarray(ops.convert_to_numpy(self._momenta))
