"""Training-time overhead of every callback against a bare `fit`, in one run.

digits (scaled to [0, 1]), an MLP 4x256, Adam, batch 64. After one warm-up run of every case,
the cases run interleaved (bare, A, bare, B, ...) for `--pairs` rounds; each case's time is
divided by the bare run right before it, and the table shows the median ratio. Only epochs
2..N are timed: the first holds the tracing, which is not a per-step cost.

The cases are the learning-rate callbacks below plus the monitors of
`benchmarks/overhead_diagnostics.py` (and a per-batch GradientTape callback for comparison).

Usage: python benchmarks/overhead.py [--quick] [--pairs 5] [--epochs 6]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from overhead_diagnostics import CASES as DIAGNOSTIC_CASES  # noqa: E402
from overhead_diagnostics import _EpochClock  # noqa: E402
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


ALL_CASES = {**CASES, **{k: v for k, v in DIAGNOSTIC_CASES.items() if k != "bare"}}


def time_fit(callbacks, x, y, epochs):
    """Seconds spent in epochs 2..`epochs` of a fresh fit with `callbacks`."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,))]
        + [keras.layers.Dense(256, activation="relu") for _ in range(4)]
        + [keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    times: list[float] = []
    clocked = [_EpochClock(times, "start"), *callbacks, _EpochClock(times, "stop")]
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0, callbacks=clocked)
    keras.backend.clear_session()
    return float(sum(times[1:]))


def main(cases=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 pairs, 1 epoch, two cases")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    cases = dict(cases or ALL_CASES)
    if args.quick:
        args.pairs, args.epochs = 2, 2
        cases = {name: cases[name] for name in list(cases)[-2:]}
    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    for factory in cases.values():  # warm-up: first traces, caches
        time_fit(factory(), x, y, 2)
    time_fit([], x, y, 2)
    ratios = {name: [] for name in cases}
    for _ in range(args.pairs):
        for name, factory in cases.items():
            bare = time_fit([], x, y, args.epochs)
            ratios[name].append(time_fit(factory(), x, y, args.epochs) / bare)
    print(f"digits MLP 4x256, Adam, batch 64, epochs 2..{args.epochs} timed, {args.pairs} pairs")
    print("| case | median ratio to bare fit | min | max |")
    print("|---|---|---|---|")
    for name, values in ratios.items():
        print(f"| {name} | {np.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")


if __name__ == "__main__":
    main()
