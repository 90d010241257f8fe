"""Benchmark: resident memory per trial of an in-process `search` against a plain Keras loop.

Every variant runs in a fresh Python process on the same data (512 x 20, binary) and trains the
same `--trials` tiny models (`HyperMLP` with 1-3 Dense layers, `--epochs` epochs):

* **search**: `search(HyperMLP(...), tuner="random", trial_isolation="none")`; RSS is read
  after every trial ends (`TrialCare.on_trial_end`, wrapped here).
* **loop**: the trials' hyperparameters, recorded by a search run beforehand, built with
  `template.build(hp)` and trained with `template.fit(...)` in a plain Python loop, with
  `keras.backend.clear_session()` and `gc.collect()` before every build (what keras-tuner and
  our search do), and
* **loop-no-clear**: the same loop without clearing the session, and
* **keras-fit**: the same models trained with a plain `model.fit(x, y, batch_size, epochs)`
  (no recipe callbacks: no schedule, no early stopping, no gradient hooks), clearing the session.

Printed: RSS after the first trial and after the last, and the growth per trial fitted (least
squares) over the second half of the trials, after the warm-up. RSS is read from psutil when it
is installed, else from `/proc/self/status` (Linux).

    python benchmarks/search_memory.py                 # 20 trials per variant, a few minutes
    python benchmarks/search_memory.py --trials 8      # a smoke run
    python benchmarks/search_memory.py --variants keras-fit   # the search and one loop

Memory figures do not depend on the machine's load the way timings do, but the allocator's
pools make single-trial steps noisy: read the fitted slope.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def rss_mb() -> float:
    """This process's resident set size in MB."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    raise RuntimeError("cannot read the resident set size here")


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 20)).astype("float32")
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype("float32")
    return x, y


def _template():
    from keras_nnperf.tuning import HyperMLP

    return HyperMLP(num_features=20, max_layers=3, batch_sizes=[64])


def run_search(trials: int, epochs: int, directory: str) -> dict:
    from keras_nnperf.tuning import search
    from keras_nnperf.tuning.tuner import TrialCare

    samples = []
    original = TrialCare.on_trial_end

    def on_trial_end(self, trial):
        original(self, trial)
        samples.append(rss_mb())
        print(f"search trial {len(samples)}: {samples[-1]:.0f} MB", file=sys.stderr, flush=True)

    TrialCare.on_trial_end = on_trial_end
    x, y = _data()
    result = search(
        _template(),
        x,
        y,
        tuner="random",
        max_trials=trials,
        epochs=epochs,
        seed=0,
        directory=directory,
        overwrite=True,
        verbose=0,
    )
    values = [r["hyperparameters"] for r in result.results]
    return {"rss": samples, "hyperparameters": values}


def run_loop(hyperparameters: list[dict], epochs: int, clear: bool, plain: bool = False) -> dict:
    import gc

    import keras
    import keras_tuner as kt

    template = _template()
    x, y = _data()
    space = kt.HyperParameters()
    template.declare_hyperparameters(space)
    samples = []
    for values in hyperparameters:
        if clear:
            keras.backend.clear_session()
            gc.collect()
        hp = space.copy()
        hp.values.update(values)
        model = template.build(hp)
        if plain:
            batch_size = hp.values.get("batch_size", 32)
            model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_split=0.2, verbose=0)
        else:
            template.fit(hp, model, x, y, epochs=epochs, validation_split=0.2, verbose=0)
        del model
        samples.append(rss_mb())
        print(f"loop trial {len(samples)}: {samples[-1]:.0f} MB", file=sys.stderr, flush=True)
    return {"rss": samples}


def slope(samples: list[float]) -> float:
    """Least-squares MB per trial over the second half of `samples`."""
    tail = samples[len(samples) // 2 :]
    n = len(tail)
    if n < 2:
        return float("nan")
    mean_x = (n - 1) / 2
    mean_y = sum(tail) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(tail))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def _child(variant: str, arguments: dict) -> dict:
    """Run one variant in a fresh interpreter and return its JSON result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump({"variant": variant, **arguments}, file)
    try:
        subprocess.run([sys.executable, __file__, "--child", file.name], check=True)
        with open(file.name) as result:
            return json.load(result)
    finally:
        os.remove(file.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["loop", "loop-no-clear", "keras-fit"],
        choices=["loop", "loop-no-clear", "keras-fit"],
        help="the loops to compare with the search (default: all)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with open(args.child) as file:
            request = json.load(file)
        if request["variant"] == "search":
            with tempfile.TemporaryDirectory() as directory:
                result = run_search(request["trials"], request["epochs"], directory)
        else:
            variant = request["variant"]
            clear = variant != "loop-no-clear"
            result = run_loop(
                request["hyperparameters"], request["epochs"], clear, variant == "keras-fit"
            )
        with open(args.child, "w") as file:
            json.dump(result, file)
        return
    import keras

    print(f"backend {keras.backend.backend()}, {args.trials} trials of {args.epochs} epochs")
    found = _child("search", {"trials": args.trials, "epochs": args.epochs})
    rows = {"search": found["rss"]}
    for variant in args.variants:
        rows[variant] = _child(
            variant, {"hyperparameters": found["hyperparameters"], "epochs": args.epochs}
        )["rss"]
    print(f"{'variant':<14} {'first MB':>9} {'last MB':>9} {'MB/trial (2nd half)':>20}")
    for variant, samples in rows.items():
        print(f"{variant:<14} {samples[0]:9.0f} {samples[-1]:9.0f} {slope(samples):20.2f}")


if __name__ == "__main__":
    main()
