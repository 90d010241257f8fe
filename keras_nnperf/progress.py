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
        if not isinstance(total, int) or total < 1:
            raise ValueError(f"Argument total must be an integer >= 1. Received: total={total!r}")
        self.total = total
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


class EpochProgress(keras.callbacks.Callback):
    """One progress bar over all epochs of `fit`, showing the latest epoch's logs.

    Use with `fit(..., verbose=0)`. The bar stops where training stops (early stopping).

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
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(
                f"Argument epochs must be an integer >= 1. Received: epochs={epochs!r}"
            )
        self.epochs = epochs
        self.metrics = tuple(metrics)
        self.verbose = verbose
        self.bar = None

    def on_train_begin(self, logs=None):
        self.bar = keras.utils.Progbar(
            self.epochs, verbose=self.verbose, unit_name="epoch", stateful_metrics=self.metrics
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        values = [(k, float(logs[k])) for k in self.metrics if k in logs]
        self.bar.update(epoch + 1, values=values, finalize=epoch + 1 >= self.epochs)

    def on_train_end(self, logs=None):
        # Early stopping ends before the bar's target: finish the line so the next print is clean.
        if self.bar is not None and self.verbose and self.bar._seen_so_far < self.epochs:
            sys.stdout.write("\n")
            sys.stdout.flush()
