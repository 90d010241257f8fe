"""Progress output for the command line: numbered stages and one bar for a whole training run.

Keras prints one progress bar per epoch; for a run of 50 short epochs a single bar over the
epochs, with the latest losses, is easier to follow. `Stages` numbers the long steps of a command
(`[2/5] LR range test ... done in 3.1 s`) so a user always knows what is running.
"""

from __future__ import annotations

import contextlib
import sys
import time

import keras

from keras_nnperf.validation import check_positive


class Stages:
    """Print numbered stages with their duration.

    Args:
        total: Number of stages the command will run.
        verbose: 0 prints nothing; 1 prints the stages.
        stream: Where to print. Defaults to `sys.stdout`.

    Raises:
        ValueError: if `total` < 1.

    Example:
    ```python
    stages = Stages(total=2)
    with stages.stage("Reading data"):
        table = read_csv(path)
    ```
    """

    def __init__(self, total: int, verbose: int = 1, stream=None):
        self.total = check_positive("total", total, integer=True)
        self.verbose = verbose
        self.stream = stream
        self.done = 0

    def print(self, text: str) -> None:
        """Print a line (when verbose) and flush, so it shows before a long computation."""
        if self.verbose:
            stream = self.stream or sys.stdout
            stream.write(text + "\n")
            stream.flush()

    @contextlib.contextmanager
    def stage(self, title: str):
        """Context manager around one stage: prints its number and title, then its duration."""
        self.done += 1
        self.print(f"[{self.done}/{self.total}] {title} ...")
        start = time.perf_counter()
        yield
        self.print(f"      done in {time.perf_counter() - start:.1f} s")


#: Without a terminal (output redirected to a file), one plain line every this many epochs.
PLAIN_EVERY = 10


class EpochProgress(keras.callbacks.Callback):
    """One progress bar over all epochs of `fit`, showing the latest epoch's logs.

    Use with `fit(..., verbose=0)`. The bar stops where training stops (early stopping). When
    standard output is not a terminal, no bar (its carriage returns and colour codes would land in
    the file): a plain line for the first epoch, every `PLAIN_EVERY`-th and the last.

    Args:
        epochs: The `epochs` passed to `fit`.
        metrics: Names from `logs` to show. Defaults to `("loss", "val_loss")`.
        verbose: 0 (silent) or 1.

    Raises:
        ValueError: if `epochs` < 1.

    Example:
    ```python
    model.fit(x, y, epochs=30, verbose=0, callbacks=[EpochProgress(30)])
    ```
    """

    def __init__(self, epochs: int, metrics=("loss", "val_loss"), verbose: int = 1):
        super().__init__()
        self.epochs = check_positive("epochs", epochs, integer=True)
        self.metrics = tuple(metrics)
        self.verbose = verbose
        self.bar = None

    def on_train_begin(self, logs=None):
        self._last = None
        self._interactive = _is_terminal(sys.stdout)
        self.bar = None
        if self._interactive:
            self.bar = keras.utils.Progbar(
                self.epochs, verbose=self.verbose, unit_name="epoch", stateful_metrics=self.metrics
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        values = [(k, float(logs[k])) for k in self.metrics if k in logs]
        self._last = (epoch, values)
        if self.bar is not None:
            self.bar.update(epoch + 1, values=values, finalize=epoch + 1 >= self.epochs)
        elif self.verbose and (epoch == 0 or (epoch + 1) % PLAIN_EVERY == 0):
            self._print_plain(epoch, values)

    def _print_plain(self, epoch, values):
        shown = " - ".join(f"{k}: {v:.4g}" for k, v in values)
        sys.stdout.write(f"      epoch {epoch + 1}/{self.epochs} - {shown}\n")
        sys.stdout.flush()

    def on_train_end(self, logs=None):
        if not self.verbose or self._last is None:
            return
        epoch, values = self._last
        if self.bar is None:
            if epoch != 0 and (epoch + 1) % PLAIN_EVERY != 0:
                self._print_plain(epoch, values)
        elif epoch + 1 < self.epochs:
            # Stopped before the bar's target: finish the line so the next print is clean.
            sys.stdout.write("\n")
            sys.stdout.flush()


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
