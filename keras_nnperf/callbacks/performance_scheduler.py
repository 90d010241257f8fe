"""Reduce the learning rate when a metric stops improving, whatever the optimizer holds.

Keras's `ReduceLROnPlateau` assigns a new float, so it raises `TypeError` as soon as the optimizer
holds a schedule, and cuts the rate in the middle of a warm-up. This one fills the multiplier slot
of the optimizer's composed learning rate (`keras_nnperf.callbacks.learning_rate_slots`): a
multiplier variable assigned between epochs scales the rate (float, schedule, warm-up or cycle),
it shares the metric rules of `MetricMonitor`, and it waits until every warm-up is over.
"""

from __future__ import annotations

from keras_nnperf.callbacks import learning_rate_slots as slots
from keras_nnperf.callbacks.copy_by_config import CopyByConfig
from keras_nnperf.callbacks.hyperparameters import current_learning_rate, log_hyperparameters
from keras_nnperf.callbacks.monitor import MetricMonitor
from keras_nnperf.registry import register
from keras_nnperf.validation import check_choice, check_integer, check_number


@register("callback")
class PerformanceScheduler(CopyByConfig, MetricMonitor):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement.

    At each epoch end, with `best` the best value of `monitor` so far: an *improvement* is a value
    better than `best` by more than `min_delta` (`"absolute"`) or `min_delta * |best|`
    (`"relative"`), in the direction `mode` gives (see `keras_nnperf.callbacks.monitor`). After
    `patience` epochs in a row without one, the multiplier `m` becomes `m * factor`, then
    `cooldown` epochs pass before epochs count again. The rate applied is
    `lr(t) = max(m * s(t), min(s(t), min_lr))` with `s` the rate without it (the optimizer's own
    float or schedule, warmed up by a `WarmUp` and replaced by a `OneCycle` in the same `fit`),
    so reductions never go below `min_lr` and a schedule keeps its shape. While a warm-up
    (a `WarmUp` callback, or a `keras_nnperf.schedules.WarmUp` in the optimizer's schedule) is
    still ramping, epochs neither count nor reduce; `best` is still tracked. `learning_rate` is
    written into `logs` at every epoch end, before any reduction. `m` is kept from one `fit` to
    the next with the same callback; the optimizer gets its own rate back when `fit` ends.

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
        factor = check_number("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
        patience = check_integer("patience", patience, low=0)
        cooldown = check_integer("cooldown", cooldown, low=0)
        min_lr = check_number("min_lr", min_lr, low=0.0)
        check_choice("verbose", verbose, (0, 1))
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
        self._multiplier = 1.0
        self._reset()

    def _reset(self):
        self.best = self.worst_value
        self.wait = 0
        self.cooldown_counter = 0

    @property
    def multiplier(self) -> float:
        """The current multiplier `m` (1.0 before training; kept from one `fit` to the next)."""
        return self._multiplier

    def on_train_begin(self, logs=None):
        self._reset()
        composition = slots.claim(self.model, "multiplier", self)
        composition.assign(multiplier=self._multiplier, min_lr=self.min_lr)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            log_hyperparameters(self.model.optimizer, logs)
        current = self.get_monitor_value(logs)
        if current is None:
            return
        improved = self.is_improvement(current, self.best)
        if improved:
            self.best = current
        if slots.warming_up(self.model.optimizer):
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
                self._reduce(epoch)

    def _reduce(self, epoch):
        self.wait = 0
        self.cooldown_counter = self.cooldown
        optimizer = self.model.optimizer
        old = current_learning_rate(optimizer)
        if old <= self.min_lr:
            return
        self._multiplier *= self.factor
        slots.installed(optimizer).assign(multiplier=self._multiplier)
        if self.verbose:
            new = current_learning_rate(optimizer)
            print(
                f"\nEpoch {epoch + 1}: PerformanceScheduler reducing learning rate "
                f"from {old:.3g} to {new:.3g}."
            )

    def on_train_end(self, logs=None):
        slots.release(self.model, self)
