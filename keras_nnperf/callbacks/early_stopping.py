"""Early stopping that never hands back a worse model than the best one it saw.

Keras's `EarlyStopping` restores the best weights only when asked to and only when `fit` returns,
and has no notion of a non-finite or diverging metric. This one restores the best weights
whenever training ends (stopped by patience, by a NaN, by divergence, by another callback, by
running out of epochs, or by an exception inside a training step, `KeyboardInterrupt` included),
stops at once on a non-finite monitored value or loss, and takes its direction from
`MetricMonitor`, the rule every callback in this package shares.
"""

from __future__ import annotations

import math

from keras_nnperf.callbacks.monitor import MetricMonitor, scalar_metric
from keras_nnperf.optimizers.fit_guard import guard_fit, unguard_fit
from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number

STOP_REASONS = ("patience", "baseline", "non_finite", "divergence", "completed", "interrupted")


@register("callback")
class EarlyStopping(MetricMonitor):
    """Stop training when a monitored metric stops improving, and keep the best weights.

    A superset of `keras.callbacks.EarlyStopping` with the same argument names. What differs:

    * `restore_best_weights=True` by default, and the best weights come back whenever training
      ends: patience ran out, the metric became NaN or diverged, another callback stopped
      training, the epochs ran out, or an exception ended `fit` inside a training step
      (`KeyboardInterrupt` in a notebook, a layer or a data generator raising: see
      `keras_nnperf.optimizers.fit_guard`; then `stop_reason="interrupted"` and the exception
      still propagates). An exception between steps (in another callback, or in data that
      PyTorch fetches outside the step) is not seen, and the weights stay as they were.
    * A non-finite monitored value or training `loss` at an epoch end stops training at once
      (`stop_reason="non_finite"`), whatever `patience` and `start_from_epoch` say.
    * Divergence stops training at once (`stop_reason="divergence"`): the monitored value is
      worse than the best by the factor `f = divergence_factor`. The threshold is the best value
      moved away from its improving direction by a factor `f`:

      | mode | best > 0 | best < 0 |
      |---|---|---|
      | min | stop if `current > f * best` | stop if `current > best / f` |
      | max | stop if `current < best / f` | stop if `current < f * best` |

      A best of exactly 0 has no multiplicative neighbourhood, so divergence is not checked then.
    * The direction of `monitor` in `mode="auto"` comes from `infer_mode` (`val_auc` goes up,
      `val_mse` goes down; an unknown name raises instead of guessing), and `min_delta` may be
      relative (`min_delta_mode="relative"`: improve by more than `min_delta * |best|`).
    * With a `baseline`, `patience` counts epochs that do not beat both the best value and the
      baseline, so a run that keeps improving but never reaches the baseline stops after
      `patience` epochs (`stop_reason="baseline"`). Keras's own callback never stops such a run.
    * With a `start_value`, the monitored value of the weights `fit` starts from (from
      `model.evaluate` on the validation data), the starting weights are a candidate like any
      epoch's: when no epoch beats `start_value`, they are the ones restored (`best_epoch` is
      -1). Keras's callback hands back the best epoch even when every epoch made the model
      worse: on a target the columns cannot predict (river's next-day S&P 500 returns) a
      network that starts at the trivial baseline (`initializers.baseline`) ended below it.
      Set it before each `fit`: it describes the weights that `fit` starts from.

    The best weights are `model.get_weights()` host copies, taken at most once per epoch when
    the monitored value improves; nothing runs per batch. Checks happen at epoch ends only: a
    per-batch NaN check would need `on_train_batch_end`, which makes Keras turn every batch's
    logs into Python numbers (one device sync per batch) when no progress bar does already.
    Before the first monitored epoch (`start_from_epoch`) the weights at the start of training,
    then those of the latest epoch with finite loss, are kept as the fallback a NaN restores.

    All state is reset in `on_train_begin`, so one instance (or the deep copies keras-tuner
    makes for every trial) can be reused across `fit` calls.

    Args:
        monitor: Metric name in `logs`. Defaults to `"val_loss"`.
        min_delta: Smallest change that counts as an improvement. Defaults to 0.
        patience: Epochs without improvement after which training stops. Defaults to 0.
        verbose: 0 (silent) or 1 (print when stopping or restoring). Defaults to 0.
        mode: `"auto"`, `"min"` or `"max"`. Defaults to `"auto"`.
        baseline: If set, training stops after `patience` epochs unless the monitored value
            beats it (`stop_reason="baseline"`). Defaults to `None`.
        restore_best_weights: Restore the weights of the best epoch when training ends.
            Defaults to `True`.
        start_from_epoch: Epochs to wait before monitoring improvement (warm-up). Defaults to 0.
        divergence_factor: Stop once the monitored value is this many times worse than the best
            (see the table above); must be > 1, or `None` to disable. Defaults to 10.
        min_delta_mode: `"absolute"` or `"relative"`. Defaults to `"absolute"`.
        start_value: The monitored value of the starting weights, or `None` (the starting
            weights are no candidate). Defaults to `None`.

    Attributes:
        best_value: The best monitored value seen, or `None`.
        best_epoch: The (0-based) epoch of `best_value`, -1 for the starting weights (no epoch
            beat `start_value`), or `None`.
        stopped_epoch: The (0-based) epoch at which this callback stopped training, or `None`.
        stop_reason: `"patience"`, `"baseline"`, `"non_finite"`, `"divergence"`,
            `"interrupted"` (an exception in a training step), or `"completed"` when training
            ended otherwise (epochs ran out, another callback stopped it); `None` while training.
        best_weights: Host copy of the best weights, or `None`.

    Raises:
        ValueError: for a negative or non-integer `patience`, `start_from_epoch` or `verbose`,
            a non-numeric `baseline`, a `divergence_factor` that is not > 1, or any argument
            `MetricMonitor` rejects.

    Example:
    ```python
    stopper = EarlyStopping(monitor="val_auc", patience=5, divergence_factor=2.0)
    model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stopper])
    print(stopper.stop_reason, stopper.best_epoch, stopper.best_value)
    ```

    Reference:
        Prechelt, 1998, "Early Stopping - But When?", in Neural Networks: Tricks of the Trade.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = True,
        start_from_epoch: int = 0,
        divergence_factor: float | None = 10.0,
        min_delta_mode: str = "absolute",
        start_value: float | None = None,
    ):
        super().__init__(
            monitor=monitor, mode=mode, min_delta=min_delta, min_delta_mode=min_delta_mode
        )
        patience = check_integer("patience", patience, low=0)
        start_from_epoch = check_integer("start_from_epoch", start_from_epoch, low=0)
        verbose = check_integer("verbose", verbose, low=0)
        baseline = check_number("baseline", baseline, allow_none=True)
        start_value = check_number("start_value", start_value, allow_none=True)
        divergence_factor = check_number(
            "divergence_factor", divergence_factor, low=1.0, low_open=True, allow_none=True
        )
        self.patience = int(patience)
        self.verbose = int(verbose)
        self.baseline = None if baseline is None else float(baseline)
        self.start_value = None if start_value is None else float(start_value)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.divergence_factor = None if divergence_factor is None else float(divergence_factor)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best_value = None
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None
        self.stop_reason = None
        self._fallback_weights = None

    def on_train_begin(self, logs=None):
        self._reset()
        # A NaN before the first monitored epoch must not leave NaN weights behind.
        if self.restore_best_weights and self.model.built:
            self._fallback_weights = self.model.get_weights()
        if self.start_value is not None:
            # The starting weights: the best so far, until an epoch beats them.
            self.best_value, self.best_epoch = self.start_value, -1
            if self.restore_best_weights and self.model.built:
                self.best_weights = self._fallback_weights
        # Restoring makes sense only right at the exception (stale=False): at the start of a
        # later fit it would overwrite whatever the user did in between.
        guard_fit(self.model, self._guard_key, self._on_exception, stale=False)

    @property
    def _guard_key(self) -> str:
        return f"early_stopping_{id(self)}"

    def _on_exception(self) -> None:
        """`fit` ended by an exception inside a step: restore the best weights, if any."""
        self.interrupt()

    def interrupt(self) -> None:
        """Record that `fit` ended by an exception, and put the best weights back (if any).

        The step guard does this by itself for an exception inside a step. Call it after
        catching one that `fit` raised between steps (in another callback: Keras calls no
        callback then), where nothing restored the weights; calling it twice is harmless.
        """
        self.stop_reason = "interrupted"
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Training interrupted: restoring model weights from {self._best_source}.")
            self.model.set_weights(self.best_weights)

    @property
    def _best_source(self) -> str:
        if self.best_epoch == -1:
            return "the start of training: no epoch beat start_value"
        return f"the end of the best epoch: {self.best_epoch + 1}"

    def diverged(self, current: float) -> bool:
        """True when `current` is `divergence_factor` times worse than the best value."""
        if self.divergence_factor is None or self.best_value is None or self.best_value == 0:
            return False
        factor, best = self.divergence_factor, self.best_value
        threshold = best * factor if (self.mode == "min") == (best > 0) else best / factor
        return current > threshold if self.mode == "min" else current < threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        loss = None if loss is None else scalar_metric("loss", loss)
        current = self.get_monitor_value(logs)
        if any(v is not None and not math.isfinite(v) for v in (loss, current)):
            self._stop(epoch, "non_finite")
            return
        if epoch < self.start_from_epoch:
            if self.restore_best_weights:
                self._fallback_weights = self.model.get_weights()
            return
        if current is None:
            return
        if self.diverged(current):
            self._stop(epoch, "divergence")
            return

        self.wait += 1
        reference = self.worst_value if self.best_value is None else self.best_value
        if self.is_improvement(current, reference):
            self.best_value, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # The wait restarts only once the baseline is beaten too.
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
        if self.wait > 0 and self.wait >= self.patience:
            beat_baseline = self.baseline is None or self.is_improvement(
                self.best_value, self.baseline
            )
            self._stop(epoch, "patience" if beat_baseline else "baseline")

    def _stop(self, epoch: int, reason: str) -> None:
        self.stopped_epoch = epoch
        self.stop_reason = reason
        self.model.stop_training = True

    def on_train_end(self, logs=None):
        unguard_fit(self.model, self._guard_key)
        if self.stop_reason is None:
            self.stop_reason = "completed"
        elif self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping ({self.stop_reason})")
        if not self.restore_best_weights:
            return
        if self.best_weights is not None:
            weights, source = self.best_weights, self._best_source
        elif self._fallback_weights is not None and self.stop_reason == "non_finite":
            weights, source = self._fallback_weights, "the last epoch with finite loss"
        else:
            return
        if self.verbose > 0:
            print(f"Restoring model weights from {source}.")
        self.model.set_weights(weights)

    def get_config(self):
        """The constructor arguments, so `EarlyStopping(**config)` rebuilds the callback."""
        return {
            "monitor": self.monitor,
            "min_delta": self.min_delta,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "baseline": self.baseline,
            "restore_best_weights": self.restore_best_weights,
            "start_from_epoch": self.start_from_epoch,
            "divergence_factor": self.divergence_factor,
            "min_delta_mode": self.min_delta_mode,
            "start_value": self.start_value,
        }
