"""Training-time overhead of the learning-rate callbacks against a bare `fit`.

digits (scaled to [0, 1]), an MLP 4x256, Adam, batch 64. After one warm-up run of every case,
the cases run interleaved (bare, A, bare, B, ...) for `--pairs` rounds; each case's time is
divided by the bare run right before it, and the table shows the median ratio.

`CASES` maps a name to a factory of fresh callbacks; other benchmark modules expose the same
shape (`benchmarks/overhead_diagnostics.py`), so adding them is one import and a dict update.

Usage: python benchmarks/overhead.py [--quick] [--pairs 4] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_nnperf.callbacks.one_cycle import OneCycle  # noqa: E402
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler  # noqa: E402
from keras_nnperf.callbacks.warmup import WarmUp  # noqa: E402

CASES: dict[str, Callable[[], list[keras.callbacks.Callback]]] = {
    "warmup_linear": lambda: [WarmUp(epochs=1)],
    "warmup_gradient": lambda: [WarmUp(epochs=1, kind="gradient")],
    "one_cycle": lambda: [OneCycle(max_lr=1e-2)],
    "performance_scheduler": lambda: [PerformanceScheduler(monitor="loss", patience=2)],
    "stack_warmup_one_cycle_csv": lambda: [
        OneCycle(max_lr=1e-2),
        WarmUp(epochs=1),
        keras.callbacks.CSVLogger(os.devnull),
    ],
    "stack_warmup_plateau_csv": lambda: [
        WarmUp(epochs=1),
        PerformanceScheduler(monitor="loss", patience=2),
        keras.callbacks.CSVLogger(os.devnull),
    ],
}


def time_fit(callbacks, x, y, epochs):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,))]
        + [keras.layers.Dense(256, activation="relu") for _ in range(4)]
        + [keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0, callbacks=callbacks)
    return time.perf_counter() - start


def main(cases=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 pairs, 1 epoch, two cases")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    cases = dict(cases or CASES)
    if args.quick:
        args.pairs, args.epochs = 2, 1
        cases = {name: cases[name] for name in list(cases)[-2:]}
    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    for factory in cases.values():  # warm-up: first traces, caches
        time_fit(factory(), x, y, 1)
    time_fit([], x, y, 1)
    ratios = {name: [] for name in cases}
    for _ in range(args.pairs):
        for name, factory in cases.items():
            bare = time_fit([], x, y, args.epochs)
            ratios[name].append(time_fit(factory(), x, y, args.epochs) / bare)
    print(f"digits MLP 4x256, Adam, batch 64, {args.epochs} epochs, {args.pairs} pairs")
    print("| case | median ratio to bare fit | min | max |")
    print("|---|---|---|---|")
    for name, values in ratios.items():
        print(f"| {name} | {np.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")


if __name__ == "__main__":
    main()
