"""Reduce the learning rate when a metric stops improving, whatever the optimizer holds.

Keras's `ReduceLROnPlateau` assigns a new float, so it raises `TypeError` as soon as the optimizer
holds a schedule, guesses the metric's direction from the substring "acc", and cuts the rate in
the middle of a warm-up. This one scales the optimizer's rate (float or schedule) through a
multiplier variable assigned between epochs, shares the metric rules of `MetricMonitor`, and
waits until every warm-up in the schedule is over.
"""

from __future__ import annotations

from keras import ops

from keras_nnperf.callbacks._learning_rate import (
    CopyByConfig,
    ScaledSchedule,
    current_learning_rate,
    install_schedule,
    learning_rate_as_schedule,
    log_hyperparameters,
    warmup_active,
)
from keras_nnperf.callbacks.monitor import MetricMonitor
from keras_nnperf.optimizers.gradient_hooks import refresh_train_function, unscaled_optimizer
from keras_nnperf.registry import register


@register("callback")
class PerformanceScheduler(CopyByConfig, MetricMonitor):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement.

    At each epoch end, with `best` the best value of `monitor` so far: an *improvement* is a value
    better than `best` by more than `min_delta` (`"absolute"`) or `min_delta * |best|`
    (`"relative"`), in the direction `mode` gives (see `keras_nnperf.callbacks.monitor`). After
    `patience` epochs in a row without one, the multiplier `m` becomes `m * factor`, then
    `cooldown` epochs pass before epochs count again. The rate applied is
    `lr(t) = max(m * s(t), min(s(t), min_lr))` with `s` whatever the optimizer held (a float or a
    schedule), so reductions never go below `min_lr` and a schedule keeps its shape. While a warm-up
    (`keras_nnperf.schedules.WarmUp`, or `WarmUp(kind="gradient")`) anywhere in the optimizer's
    schedule is still ramping, epochs neither count nor reduce; `best` is still tracked.
    `learning_rate` is written into `logs` at every epoch end, before any reduction.

    Args:
        monitor: Metric to watch, e.g. `"val_loss"`, `"val_auc"`.
        factor: Multiplier applied on a plateau, in (0, 1).
        patience: Epochs without improvement before a reduction, >= 0.
        mode: `"auto"`, `"min"` or `"max"`; `"auto"` raises for a metric it does not know.
        min_delta: Smallest change that counts as an improvement, >= 0.
        min_delta_mode: `"relative"` (to `|best|`) or `"absolute"`.
        cooldown: Epochs to wait after a reduction before counting again, >= 0.
        min_lr: Reductions never take the rate below this, >= 0.
        verbose: 0 or 1: print each reduction.

    Raises:
        ValueError: for a bad argument, or an unknown metric with `mode="auto"`.

    Example:
    ```python
    model.compile(optimizer=keras.optimizers.Adam(WarmUp(CosineDecay(1e-3, 10_000), 500)), ...)
    model.fit(x, y, validation_split=0.2, callbacks=[PerformanceScheduler(patience=3)])
    ```

    Reference:
        Keras `ReduceLROnPlateau`; Goyal et al., 2017, "Accurate, Large Minibatch SGD" (no
        reductions during warm-up).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.5,
        patience: int = 5,
        mode: str = "auto",
        min_delta: float = 1e-4,
        min_delta_mode: str = "relative",
        cooldown: int = 0,
        min_lr: float = 0.0,
        verbose: int = 0,
    ):
        super().__init__(
            monitor=monitor, mode=mode, min_delta=min_delta, min_delta_mode=min_delta_mode
        )
        if not isinstance(factor, (int, float)) or not 0 < factor < 1:
            raise ValueError(f"Argument factor must be in (0, 1). Received: factor={factor!r}")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"Argument {name} must be an integer >= 0. Received: {name}={value!r}"
                )
        if not isinstance(min_lr, (int, float)) or not min_lr >= 0:
            raise ValueError(f"Argument min_lr must be >= 0. Received: min_lr={min_lr!r}")
        if verbose not in (0, 1):
            raise ValueError(f"Argument verbose must be 0 or 1. Received: verbose={verbose!r}")
        self._config = dict(
            monitor=monitor,
            factor=factor,
            patience=patience,
            mode=mode,
            min_delta=min_delta,
            min_delta_mode=min_delta_mode,
            cooldown=cooldown,
            min_lr=min_lr,
            verbose=verbose,
        )
        self.factor, self.patience, self.cooldown = float(factor), patience, cooldown
        self.min_lr, self.verbose = float(min_lr), verbose
        self.schedule = None
        self._reset()

    def _reset(self):
        self.best = self.worst_value
        self.wait = 0
        self.cooldown_counter = 0

    @property
    def multiplier(self) -> float:
        """The current multiplier `m` (1.0 before training)."""
        if self.schedule is None:
            return 1.0
        return float(ops.convert_to_numpy(self.schedule.multiplier))

    def on_train_begin(self, logs=None):
        self._reset()
        optimizer = unscaled_optimizer(self.model.optimizer)
        if self.schedule is None or optimizer._learning_rate is not self.schedule:
            with self.model.distribute_strategy.scope():
                self.schedule = ScaledSchedule(
                    learning_rate_as_schedule(optimizer), 1.0, self.min_lr
                )
            install_schedule(optimizer, self.schedule)
            refresh_train_function(self.model)

    def on_epoch_end(self, epoch, logs=None):
        log_hyperparameters(self.model.optimizer, logs)
        current = self.get_monitor_value(logs)
        if current is None:
            return
        optimizer = unscaled_optimizer(self.model.optimizer)
        step = int(ops.convert_to_numpy(optimizer.iterations))
        improved = self.is_improvement(current, self.best)
        if improved:
            self.best = current
        if warmup_active(self.schedule, step):
            self.wait = 0
            return
        # Unlike Keras (which tests the counter after decrementing it, so cooldown=1 waits no
        # epoch at all), `cooldown` epochs after a reduction really are skipped.
        in_cooldown = self.cooldown_counter > 0
        if in_cooldown:
            self.cooldown_counter -= 1
            self.wait = 0
        if improved:
            self.wait = 0
        elif not in_cooldown:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch, optimizer)

    def _reduce(self, epoch, optimizer):
        self.wait = 0
        self.cooldown_counter = self.cooldown
        old = current_learning_rate(optimizer)
        if old <= self.min_lr:
            return
        self.schedule.multiplier.assign(self.multiplier * self.factor)
        if self.verbose:
            new = current_learning_rate(optimizer)
            print(
                f"\nEpoch {epoch + 1}: PerformanceScheduler reducing learning rate "
                f"from {old:.3g} to {new:.3g}."
            )
