"""Stop training when a wall-clock budget is spent (Kaggle sessions and CI jobs have limits)."""

from __future__ import annotations

import time

import keras

from keras_nnperf.registry import register
from keras_nnperf.validation import check_choice, check_number

GRANULARITIES = ("epoch", "batch")


@register("callback")
class TimeStopping(keras.callbacks.Callback):
    """Stop `fit` once `seconds` of wall-clock time have passed since training began.

    The successor of `tfa.callbacks.TimeStopping`. The clock starts in `on_train_begin`; the
    budget is checked at the end of every epoch (or every batch with `granularity="batch"`,
    which reads only the host clock: no device synchronisation). Combine it with
    `keras_nnperf.callbacks.EarlyStopping`, which restores the best weights whichever callback
    stopped training.

    Args:
        seconds: The budget in seconds (> 0).
        granularity: `"epoch"` (stop between epochs) or `"batch"` (stop within an epoch).
        verbose: 1 prints a line when the budget stops training.

    Attributes:
        stopped_epoch: The epoch at which training was stopped, or `None`.

    Raises:
        ValueError: if `seconds` is not a finite number > 0 (NaN, inf and booleans are refused;
            NumPy scalars are numbers), or `granularity` or `verbose` is unknown.

    Example:
    ```python
    model.fit(x, y, epochs=1000, callbacks=[TimeStopping(seconds=8 * 3600)])
    ```
    """

    def __init__(self, seconds: float = 86400.0, granularity: str = "epoch", verbose: int = 0):
        super().__init__()
        self.seconds = check_number("seconds", seconds, low=0.0, low_open=True)
        check_choice("granularity", granularity, GRANULARITIES)
        check_choice("verbose", verbose, (0, 1))
        self.granularity = granularity
        self.verbose = verbose
        # Reading the host clock is thread-safe, so Keras may keep dispatching batch callbacks
        # asynchronously on backends that support it.
        self.async_safe = True
        self.stopped_epoch = None
        self._deadline = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._deadline = time.monotonic() + self.seconds
        self.stopped_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.granularity == "batch":
            self._stop_if_over_budget()

    def on_epoch_end(self, epoch, logs=None):
        self._stop_if_over_budget()

    def _stop_if_over_budget(self):
        if self.stopped_epoch is None and time.monotonic() >= self._deadline:
            self.model.stop_training = True
            self.stopped_epoch = self._epoch
            if self.verbose:
                print(
                    f"TimeStopping: {self.seconds:g} s budget spent; "
                    f"stopped in epoch {self._epoch + 1}."
                )
