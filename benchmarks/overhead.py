"""What our callbacks cost in short fits, tracing included: a first and a repeated fit vs bare.

Notebooks and `lr_find`-then-`fit` call `fit` many times on small models, so a callback that
forces a retrace on every `fit` costs more than its per-step work. This times, on the backend
`KERAS_BACKEND` selects (TensorFlow, JAX or PyTorch):

* **first fit**: a fresh model's first `fit` of `--epochs` epochs, its tracing included;
* **second fit**: the same model's next `fit` of `--epochs` epochs, with new callback instances
  (what re-running a notebook cell does);

for a bare `fit`, `GradientMonitor`, `WarmUp + OneCycle`, and Keras's own `EarlyStopping +
ReduceLROnPlateau` as the yardstick. Data: 2048 x 20 Gaussian inputs, a 10-class target, an MLP
Dense 64-64, Adam, batch 32 (64 steps per epoch). Each round runs every case right after its
own bare run (bare, case, bare, case, ...); the table gives, over `--pairs` rounds, the median
of the case's time divided by that bare run's time. Run-to-run noise of one timing on a shared
2-core machine is about +-25%, so only the median ratio means something.

`--profile` times the callbacks' own hooks instead (what they cost on the host, per epoch and per
`fit`, whatever the machine's load; see `profile_hooks`).

`--steady` prints the older table instead: the per-step cost of every callback in epochs 2..N of
a digits MLP 4x256 (tracing excluded), with the monitor cases of
`benchmarks/overhead_diagnostics.py`.

Usage: KERAS_BACKEND=jax python benchmarks/overhead.py [--pairs 7] [--epochs 3] [--quick]
       python benchmarks/overhead.py --optimizer adamw (the recipe's optimizer)
       python benchmarks/overhead.py --profile [--epochs 30]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from overhead_diagnostics import CASES as DIAGNOSTIC_CASES  # noqa: E402
from overhead_diagnostics import _EpochClock  # noqa: E402

from keras_nnperf.callbacks.gradient_monitor import GradientMonitor  # noqa: E402
from keras_nnperf.callbacks.one_cycle import OneCycle  # noqa: E402
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler  # noqa: E402
from keras_nnperf.callbacks.warmup import WarmUp  # noqa: E402

Factory = Callable[[], list[keras.callbacks.Callback]]

SHORT_FIT_CASES: dict[str, Factory] = {
    "GradientMonitor": lambda: [GradientMonitor()],
    "WarmUp + OneCycle": lambda: [WarmUp(epochs=1), OneCycle(max_lr=1e-2)],
    "Keras EarlyStopping + ReduceLROnPlateau": lambda: [
        keras.callbacks.EarlyStopping(monitor="loss", patience=5),
        keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=5),
    ],
}

# The per-step (steady-state) cases of `--steady`.
CASES: dict[str, Factory] = {
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


def short_fit_data() -> tuple[np.ndarray, np.ndarray]:
    """2048 x 20 standard normal inputs and a 10-class target from a fixed linear map."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 20)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(20, 10)), axis=1).astype("int32")
    return x, y


class CountingSequential(keras.Sequential):
    """A `Sequential` that counts how often `train_step` runs in Python: once per trace."""

    traces = 0

    def train_step(self, *args, **kwargs):
        type(self).traces += 1
        return super().train_step(*args, **kwargs)


# `--optimizer`: Adam (the setting) or AdamW (the recipe's optimizer; Keras's weight decay
# reads the learning rate once per variable, which is what a schedule's cost multiplies with).
OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(1e-3),
    "adamw": lambda: keras.optimizers.AdamW(1e-3),
}
optimizer_name = "adam"


def short_fit_model() -> keras.Model:
    """The issue's small MLP: Dense 64-64 and a 10-way output, Adam (or `--optimizer`), compiled."""
    model = CountingSequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(64, "relu"),
            keras.layers.Dense(64, "relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        OPTIMIZERS[optimizer_name](), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def first_and_second_fit(factory: Factory, x, y, epochs: int) -> tuple[float, float, list]:
    """Seconds of a fresh model's first and second fit (new callbacks each time), and traces.

    The traces are how often each fit ran `train_step` in Python: its number of (re)traces on
    TensorFlow and JAX (PyTorch runs it eagerly, once per step).
    """
    keras.utils.set_random_seed(0)
    model = short_fit_model()
    seconds, traces = [], []
    for _ in range(2):
        callbacks = factory()
        CountingSequential.traces = 0
        start = time.perf_counter()
        model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=callbacks)
        # JAX dispatches asynchronously: wait for the last step, as reading a metric would.
        keras.ops.convert_to_numpy(model.trainable_weights[-1])
        seconds.append(time.perf_counter() - start)
        traces.append(CountingSequential.traces)
    keras.backend.clear_session()
    return seconds[0], seconds[1], traces


def short_fits(pairs: int, epochs: int, cases: dict[str, Factory] | None = None) -> dict:
    """Median ratios (first fit, second fit) of each case to a bare fit; prints the table."""
    cases = dict(cases or SHORT_FIT_CASES)
    x, y = short_fit_data()
    bare = lambda: []  # noqa: E731
    for factory in [bare, *cases.values()]:  # warm-up: imports, XLA/allocator caches
        first_and_second_fit(factory, x, y, 1)
    ratios = {name: ([], []) for name in cases}
    bare_seconds = ([], [])
    traces = {}
    for _ in range(pairs):
        for name, factory in cases.items():
            reference = first_and_second_fit(bare, x, y, epochs)
            measured = first_and_second_fit(factory, x, y, epochs)
            for index in (0, 1):
                ratios[name][index].append(measured[index] / reference[index])
                bare_seconds[index].append(reference[index])
            traces["bare"], traces[name] = reference[2], measured[2]
    backend = keras.backend.backend()
    print(
        f"backend {backend}, keras {keras.__version__}: 2048 x 20, Dense 64-64, "
        f"{optimizer_name}, batch 32, "
        f"{epochs} epochs per fit, {pairs} interleaved pairs per case"
    )
    print(
        f"bare fit: first {np.median(bare_seconds[0]):.3f} s, "
        f"second {np.median(bare_seconds[1]):.3f} s (medians); "
        f"train_step traces in the first, second fit: {traces['bare']}"
    )
    print(
        "| case | first fit / bare (median) | min-max | second fit / bare (median) | min-max "
        "| traces (first, second fit) |"
    )
    print("|---|---|---|---|---|---|")
    summary = {}
    for name, (first, second) in ratios.items():
        summary[name] = (float(np.median(first)), float(np.median(second)))
        print(
            f"| {name} | {summary[name][0]:.3f} | {min(first):.2f}-{max(first):.2f} "
            f"| {summary[name][1]:.3f} | {min(second):.2f}-{max(second):.2f} "
            f"| {traces[name][0]}, {traces[name][1]} |"
        )
    return summary


HOOKS_PER_EPOCH = ("on_epoch_begin", "on_epoch_end")
HOOKS_PER_FIT = ("on_train_begin", "on_train_end")


class _Barrier(keras.callbacks.Callback):
    """Waits for the device to finish the epoch's steps, so a timed hook after it excludes them.

    JAX dispatches asynchronously: the first host read in an `on_epoch_end` would otherwise wait
    for the whole epoch and be charged for it. Reading `iterations` waits for the last step.
    """

    def on_epoch_end(self, epoch, logs=None):
        keras.ops.convert_to_numpy(self.model.optimizer.iterations)


def _timed(method, record: list):
    def hook(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = method(*args, **kwargs)
        record.append((time.perf_counter() - wall, time.process_time() - cpu))
        return result

    return hook


def profile_hooks(epochs: int, fits: int = 3, cases: dict[str, Factory] | None = None) -> dict:
    """Host milliseconds the callbacks' own hooks take, per epoch and per `fit`; prints a table.

    Each case's callbacks train the short-fit model: one untimed fit of one epoch (the one-time
    costs of a first fit: tracing, compiling the backend's small host-side ops), then `fits`
    fits of `epochs` epochs (8 steps each) with new callback instances whose `on_epoch_begin`/
    `on_epoch_end` and `on_train_begin`/`on_train_end` are wrapped in timers: wall time
    (`perf_counter`) and the process's CPU time (`process_time`, less sensitive to other
    processes on a loaded machine). Per epoch: the median and the mean over epochs of the sum
    over the case's callbacks; per fit: the median over fits. A `_Barrier` before them makes
    each epoch's steps finish first, so the hooks are timed alone.

    Returns:
        `{case: (epoch wall ms, epoch cpu ms, epoch mean wall ms, fit wall ms, fit cpu ms)}`.
    """
    cases = dict(cases or SHORT_FIT_CASES)
    x, y = short_fit_data()
    summary = {}
    for name, factory in cases.items():
        keras.utils.set_random_seed(0)
        model = short_fit_model()
        model.fit(x, y, batch_size=256, epochs=1, verbose=0, callbacks=factory())
        per_epoch, per_fit = [], []
        for _ in range(fits):
            records = {hook: [] for hook in HOOKS_PER_EPOCH + HOOKS_PER_FIT}
            callbacks = factory()
            for callback in callbacks:
                for hook, record in records.items():
                    setattr(callback, hook, _timed(getattr(callback, hook), record))
            model.fit(
                x, y, batch_size=256, epochs=epochs, verbose=0, callbacks=[_Barrier(), *callbacks]
            )
            count = len(callbacks)
            for index in range(epochs):
                times = [
                    records[hook][index * count + k]
                    for hook in HOOKS_PER_EPOCH
                    for k in range(count)
                ]
                per_epoch.append(np.sum(times, axis=0))
            per_fit.append(np.sum([t for hook in HOOKS_PER_FIT for t in records[hook]], axis=0))
        keras.backend.clear_session()
        epoch_ms = 1e3 * np.median(per_epoch, axis=0)
        epoch_mean_ms = 1e3 * np.mean(per_epoch, axis=0)[0]
        fit_ms = 1e3 * np.median(per_fit, axis=0)
        summary[name] = (*epoch_ms.tolist(), float(epoch_mean_ms), *fit_ms.tolist())
    print(
        f"backend {keras.backend.backend()}, keras {keras.__version__}: host time of the "
        f"callbacks' hooks, {fits} fits x {epochs} epochs of 8 steps after a first fit"
    )
    print(
        "| case | per epoch, wall ms (median) | CPU ms (median) | wall ms (mean) "
        "| per fit (train begin + end), wall ms (median) | CPU ms (median) |"
    )
    print("|---|---|---|---|---|---|")
    for name, values in summary.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    return summary


def time_fit(callbacks, x, y, epochs):
    """Seconds spent in epochs 2..`epochs` of a fresh fit with `callbacks` (`--steady`)."""
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


def steady(pairs: int, epochs: int, cases=None) -> None:
    """The per-step table: every callback, epochs 2..N of a digits MLP 4x256 (`--steady`)."""
    from sklearn.datasets import load_digits

    cases = dict(cases or ALL_CASES)
    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    for factory in cases.values():
        time_fit(factory(), x, y, 2)
    time_fit([], x, y, 2)
    ratios = {name: [] for name in cases}
    for _ in range(pairs):
        for name, factory in cases.items():
            bare = time_fit([], x, y, epochs)
            ratios[name].append(time_fit(factory(), x, y, epochs) / bare)
    print(f"digits MLP 4x256, Adam, batch 64, epochs 2..{epochs} timed, {pairs} pairs")
    print("| case | median ratio to bare fit | min | max |")
    print("|---|---|---|---|")
    for name, values in ratios.items():
        print(f"| {name} | {np.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 pairs, 1 epoch: smoke run")
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steady", action="store_true", help="the per-step table instead")
    parser.add_argument(
        "--profile", action="store_true", help="host ms of the callbacks' hooks instead"
    )
    parser.add_argument(
        "--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="of the short fits"
    )
    args = parser.parse_args(argv)
    global optimizer_name
    optimizer_name = args.optimizer
    pairs, epochs = (2, 1) if args.quick else (args.pairs, args.epochs)
    if pairs < 1 or epochs < 1:
        parser.error(f"--pairs and --epochs must be >= 1. Received: {pairs}, {epochs}")
    if args.profile:
        profile_hooks(max(args.epochs, 10) if not args.quick else 3)
    elif args.steady:
        steady(pairs, max(epochs, 2))
    else:
        short_fits(pairs, epochs)


if __name__ == "__main__":
    main()
