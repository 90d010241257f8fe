"""What the diagnostics cost: GradientMonitor / ActivationMonitor vs bare fit vs a tape callback.

Digits MLP 4x256, batch 64, Adam. Each run builds a fresh model and fits a few epochs; the time
of every epoch but the first (which traces the train function) is summed. The cases run
interleaved (bare, monitor, ..., bare, monitor, ...) after one warm-up run of each, and the table
gives the median over pairs of each case's time divided by the bare run's time in the same pair.

`CASES` maps a case name to a factory of fresh callbacks; importing this module has no side
effects, so `benchmarks/overhead.py` can reuse it.

Usage: python benchmarks/overhead_diagnostics.py [--quick] [--pairs N] [--epochs N]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import keras
import numpy as np

from keras_nnperf.callbacks.activation_monitor import ActivationMonitor
from keras_nnperf.callbacks.gradient_monitor import GradientMonitor

BATCH_SIZE = 64


@functools.lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Standardized digits (1797 x 64), loaded on first use only."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return x.astype("float32"), y.astype("int32")


class TapeGradientNorms(keras.callbacks.Callback):
    """The usual workaround: a second forward/backward pass per batch to read gradient norms."""

    def __init__(self, x_batch, y_batch):
        super().__init__()
        self.x_batch, self.y_batch = x_batch, y_batch
        self.norms: list[list[float]] = []

    def on_train_batch_end(self, batch, logs=None):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = self.model.compute_loss(
                x=self.x_batch, y=self.y_batch, y_pred=self.model(self.x_batch, training=True)
            )
        grads = tape.gradient(loss, self.model.trainable_weights)
        self.norms.append([float(tf.norm(g)) for g in grads])


def _tape_case():
    x, y = digits()
    return [TapeGradientNorms(x[:BATCH_SIZE], y[:BATCH_SIZE])]


CASES: dict[str, Callable[[], list[keras.callbacks.Callback]]] = {
    "bare": lambda: [],
    "GradientMonitor(every_n_steps=1)": lambda: [GradientMonitor(every_n_steps=1)],
    "ActivationMonitor(epoch end)": lambda: [ActivationMonitor(digits()[0][:256])],
}
if keras.backend.backend() == "tensorflow":  # the workaround it replaces is TensorFlow code
    CASES["GradientTape callback per batch"] = _tape_case


def make_model() -> keras.Model:
    """The benchmark network: MLP 4x256 ReLU on digits, Adam, compiled."""
    model = keras.Sequential(
        [keras.Input((64,))]
        + [keras.layers.Dense(256, "relu") for _ in range(4)]
        + [keras.layers.Dense(10)]
    )
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


class _EpochClock(keras.callbacks.Callback):
    """Starts the clock before the other callbacks' epoch hooks and stops it after theirs."""

    def __init__(self, times: list[float], role: str):
        super().__init__()
        self.times, self.role = times, role

    def on_epoch_begin(self, epoch, logs=None):
        if self.role == "start":
            self.times.append(-time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        if self.role == "stop":
            self.times[-1] += time.perf_counter()


def run_case(name: str, epochs: int) -> float:
    """Seconds spent in epochs 2..`epochs` of a fresh fit with the case's callbacks."""
    keras.utils.set_random_seed(0)
    x, y = digits()
    times: list[float] = []
    callbacks = [_EpochClock(times, "start"), *CASES[name](), _EpochClock(times, "stop")]
    make_model().fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0, callbacks=callbacks)
    keras.backend.clear_session()
    return float(sum(times[1:]))


def main(argv=None) -> dict[str, float]:
    """Run the interleaved comparison and print the table; return the median ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pair, two epochs: smoke run")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    pairs, epochs = (1, 2) if args.quick else (args.pairs, args.epochs)
    if pairs < 1 or epochs < 2:
        parser.error(f"--pairs must be >= 1 and --epochs >= 2. Received: {pairs}, {epochs}")

    for name in CASES:  # warm-up: imports, first traces, allocator
        run_case(name, 2)
    seconds: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(pairs):
        for name in CASES:
            seconds[name].append(run_case(name, epochs))

    bare = np.array(seconds["bare"])
    ratios = {name: float(np.median(np.array(s) / bare)) for name, s in seconds.items()}
    print(f"digits MLP 4x256, batch {BATCH_SIZE}, {epochs} epochs (first excluded), {pairs} pairs")
    print(f"{'case':<36} {'median ratio':>12} {'min':>6} {'max':>6} {'median s':>9}")
    for name, s in seconds.items():
        r = np.array(s) / bare
        print(
            f"{name:<36} {ratios[name]:>12.2f} {r.min():>6.2f} {r.max():>6.2f} {np.median(s):>9.3f}"
        )
    return ratios


if __name__ == "__main__":
    main()
