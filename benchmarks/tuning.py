"""Benchmark: our default search against the seed guide's template, at an equal wall-clock budget.

Each search gets the same seconds (`--budget`) on the same split of a real table that ships with
a pip package: scikit-learn's breast cancer (binary, standardized), digits (10 classes, pixels /
16, as a flat table) and palmerpenguins' penguins (target `sex`, binary; species and island
one-hot, numbers standardized, rows with a missing value dropped); 30% validation, stratified.

* **seed template**: the seed guide's "combining all together" `build_model(hp)` (1-10 Dense
  layers of 32-512 units, relu/tanh/sigmoid, dropout, sgd/rmsprop/adam/adadelta/adagrad at their
  default rates), keras-tuner's `RandomSearch`, `--epochs` epochs per trial.
* **ours**: `search(HyperMLP(...), ...)` with its defaults (`tuner="asha"`: the template's
  defaults first, then random draws alternating with local moves around the best trial, stopped
  at rung epochs unless in the best third),
  `--epochs` epochs per trial at most.

Both stop starting trials when the budget is spent, and the running trial stops at its next epoch
end (`DeadlineStopping`); the clock includes building the tuner and, for ours, reloading the best
model. Per table and seed the two run back to back, in alternating order, so a shared machine's
load hits both. Printed: best validation accuracy, completed trials, trials per hour, how many of
ours successive halving stopped early, and the 1-minute load average at the end of each run.
`--cnn` adds HyperCNN on digits as 8x8 images against a hand-built small CNN (Conv 32, Conv 64,
pool, Dense 128, dropout; AdamW 1e-3) trained once for `--epochs` epochs.

    python benchmarks/tuning.py                        # 45 s per search, 2 seeds: about 9 min
    python benchmarks/tuning.py --budget 20 --seeds 1  # a smoke run
    python benchmarks/tuning.py --seeds 3 --first-seed 3  # three more seeds: 3, 4, 5
    python benchmarks/tuning.py --profile 6            # where a trial's seconds go (below)
    python benchmarks/tuning.py --holdout 0.2 --seeds 6  # and each best model on a test split

`--holdout F` keeps a share F of each table (stratified, the same rows for every seed) out of
both searches and scores each search's best model on it after the clock stops: keras-tuner's
best trial at its best epoch for the seed template, `SearchResult.best_model` for ours. The best
validation accuracy picks the luckiest epoch of many on a few hundred rows; the test accuracy of
the one model each search hands over is what a user gets.

`--profile N` runs N trials of each search on breast cancer (no budget, `--epochs` at most) under
cProfile with the process's CPU time as its clock (less sensitive to other processes' load than
wall-clock seconds), and prints the CPU seconds per phase: keras-tuner's bookkeeping, the
session clearing and garbage collection, model build and compile, tracing the train and test
steps (the optimizer's update inside it), running the steps, validation, callbacks, weight
writes, and rebuilding the best model.

Timing noise on a shared 2-core machine is about +-25%: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_nnperf.tuning.hyper_cnn import HyperCNN  # noqa: E402
from keras_nnperf.tuning.hyper_mlp import HyperMLP  # noqa: E402
from keras_nnperf.tuning.search import search  # noqa: E402
from keras_nnperf.tuning.tuner import DeadlineStopping, TimeBudgetExhausted  # noqa: E402


def seed_template(num_classes):
    """The seed guide's "combining all together" template, for binary or multiclass data."""

    def build_model(hp):
        model = keras.Sequential()
        for i in range(hp.Int("num_layers", 1, 10)):
            model.add(
                keras.layers.Dense(
                    hp.Int(f"units_{i}", 32, 512, step=32),
                    activation=hp.Choice("activation", ["relu", "tanh", "sigmoid"]),
                )
            )
            model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)))
        if num_classes == 2:
            model.add(keras.layers.Dense(1, activation="sigmoid"))
            loss = "binary_crossentropy"
        else:
            model.add(keras.layers.Dense(num_classes, activation="softmax"))
            loss = "sparse_categorical_crossentropy"
        optimizer = hp.Choice("optimizer", ["sgd", "rmsprop", "adam", "adadelta", "adagrad"])
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
        return model

    return build_model


class BudgetedRandomSearch(kt.RandomSearch):
    """keras-tuner's `RandomSearch` that starts no trial after `deadline` (the harness only)."""

    deadline = float("inf")

    def pre_create_trial(self):
        super().pre_create_trial()
        if time.time() >= self.deadline:
            raise TimeBudgetExhausted("budget spent")


def _split(x, y, holdout=0.0):
    """`(x_train, y_train, x_val, y_val, x_test, y_test)`, stratified, the same rows every seed.

    `holdout` of the rows go to the test (none when 0), then 30% of the rest to validation.
    """
    x_test = y_test = None
    if holdout:
        x, x_test, y, y_test = train_test_split(x, y, test_size=holdout, stratify=y, random_state=0)
        x_test = x_test.astype("float32")
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0
    )
    return x_train.astype("float32"), y_train, x_val.astype("float32"), y_val, x_test, y_test


def _standardize(x_train, y_train, x_val, y_val, x_test, y_test, columns=None):
    columns = slice(None) if columns is None else columns
    mean, std = x_train[:, columns].mean(0), x_train[:, columns].std(0) + 1e-12
    out = []
    for x in (x_train, x_val, x_test):
        if x is not None:
            x = x.copy()
            x[:, columns] = (x[:, columns] - mean) / std
        out.append(x)
    return out[0], y_train, out[1], y_val, out[2], y_test


def datasets(holdout=0.0):
    """The tables: `{name: (x_train, y_train, x_val, y_val, num_classes)}` and the test rows.

    30% validation, stratified; the second dict is `{name: (x_test, y_test)}`, the `holdout`
    rows kept out of both (`None` when 0).
    """
    import pandas as pd
    from palmerpenguins import load_penguins

    x, y = load_breast_cancer(return_X_y=True)
    cancer = _standardize(*_split(x, y, holdout))
    x, y = load_digits(return_X_y=True)
    digits = _split(x / 16.0, y, holdout)
    frame = load_penguins().dropna()
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    features = pd.get_dummies(frame[numeric + ["species", "island"]], dtype="float32")
    y = (frame["sex"] == "male").to_numpy().astype("float32")
    penguins = _standardize(
        *_split(features.to_numpy(), y, holdout), columns=slice(0, len(numeric))
    )
    splits = {"breast_cancer": (cancer, 2), "digits": (digits, 10), "penguins_sex": (penguins, 2)}
    data = {name: (*parts[:4], classes) for name, (parts, classes) in splits.items()}
    tests = {name: parts[4:] if holdout else None for name, (parts, _) in splits.items()}
    return data, tests


def test_accuracy(model, test):
    """Accuracy of `model` on the held-out `(x_test, y_test)`, NaN without one."""
    if test is None or model is None:
        return float("nan")
    x_test, y_test = test
    out = keras.ops.convert_to_numpy(model.predict(x_test, verbose=0))
    predicted = out.argmax(-1) if out.shape[-1] > 1 else (out[:, 0] > 0.5).astype(int)
    return float((predicted == y_test.reshape(-1)).mean())


def run_seed_template(data, epochs, budget, seed, directory, test=None):
    x_train, y_train, x_val, y_val, num_classes = data
    start = time.perf_counter()
    tuner = BudgetedRandomSearch(
        seed_template(num_classes),
        objective="val_accuracy",
        max_trials=100_000,
        seed=seed,
        directory=directory,
        project_name="seed",
        overwrite=True,
    )
    tuner.deadline = time.time() + budget
    keras.utils.set_random_seed(seed)
    try:
        tuner.search(
            x_train,
            y_train,
            epochs=epochs,
            validation_data=(x_val, y_val),
            callbacks=[DeadlineStopping(tuner.deadline)],
            verbose=0,
        )
    except TimeBudgetExhausted:
        pass
    seconds = time.perf_counter() - start
    done = [t for t in tuner.oracle.trials.values() if t.score is not None]
    best = max(t.score for t in done) if done else float("nan")
    # After the clock: the best trial's weights at its best epoch, as keras-tuner keeps them.
    model = tuner.get_best_models(1)[0] if done and test is not None else None
    return {
        "best": best,
        "trials": len(done),
        "seconds": seconds,
        "stopped": 0,
        "test": test_accuracy(model, test),
    }


def run_ours(template, data, epochs, budget, seed, directory, test=None):
    x_train, y_train, x_val, y_val, _ = data
    start = time.perf_counter()
    result = search(
        template,
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        max_trials=100_000,
        epochs=epochs,
        time_budget=budget,
        seed=seed,
        directory=directory,
        project_name="ours",
        overwrite=True,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    done = result.completed
    best = max(r["score"] for r in done) if done else float("nan")
    stopped = sum(r.get("stopped_at") is not None for r in done)
    model = result.best_model if done and test is not None else None
    return {
        "best": best,
        "trials": len(done),
        "seconds": seconds,
        "stopped": stopped,
        "test": test_accuracy(model, test),
    }


def hand_built_cnn(data, epochs, seed):
    """The small CNN a user writes by hand for 8x8 digits, trained once."""
    x_train, y_train, x_val, y_val, _ = data
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.AdamW(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    start = time.perf_counter()
    history = model.fit(
        x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=32, verbose=0
    )
    seconds = time.perf_counter() - start
    return {"best": max(history.history["val_accuracy"]), "trials": 1, "seconds": seconds}


#: (label, file fragment, function name or names): the phases `--profile` reports, as the
#: cumulative CPU seconds of these functions (an indented phase is part of the one above it).
PHASES = (
    (
        "trials (keras-tuner's run of each trial)",
        "keras_tuner/src/engine/base_tuner.py",
        "_run_and_update_trial",
    ),
    ("  clear_session", "keras/src/backend/common/global_state.py", "clear_session"),
    ("  gc.collect", "~", "<built-in method gc.collect>"),
    ("  build + compile", "keras_tuner/src/engine/tuner.py", "_build_hypermodel"),
    ("  model.fit", "keras/src/backend/tensorflow/trainer.py", "fit"),
    ("    tracing train_step", "keras/src/backend/tensorflow/trainer.py", "train_step"),
    ("      optimizer update (traced)", "keras/src/optimizers/base_optimizer.py", "apply"),
    (
        "      composed learning rate (traced)",
        "keras_nnperf/schedules/composed.py",
        "composed_learning_rate",
    ),
    ("    tracing test_step", "keras/src/backend/tensorflow/trainer.py", "test_step"),
    (
        "    running compiled steps",
        "~",
        "<built-in method tensorflow.python._pywrap_tfe.TFE_Py_Execute>",
    ),
    ("    validation (evaluate in fit)", "keras/src/backend/tensorflow/trainer.py", "evaluate"),
    ("    callbacks: epoch ends", "keras/src/callbacks/callback_list.py", "on_epoch_end"),
    (
        "    callbacks: train begin + end",
        "keras/src/callbacks/callback_list.py",
        ("on_train_begin", "on_train_end"),
    ),
    ("  weight files written", "keras/src/models/model.py", "save_weights"),
    ("  oracle: end trial, save state", "keras_tuner/src/engine/base_tuner.py", "on_trial_end"),
    ("best model rebuilt and loaded", "keras_tuner/src/engine/base_tuner.py", "get_best_models"),
)


def profile_phases(run):
    """Run `run()` under cProfile (CPU clock); return its CPU seconds and `[(phase, s, calls)]`."""
    profile = cProfile.Profile(time.process_time)
    started = time.process_time()
    profile.runcall(run)
    total = time.process_time() - started
    stats = pstats.Stats(profile).stats
    rows = []
    for label, fragment, name in PHASES:
        seconds = calls = 0
        for (path, _, function), (_, ncalls, _, cumulative, _) in stats.items():
            matches = function in name if isinstance(name, tuple) else function == name
            if fragment in path and matches:
                seconds, calls = seconds + cumulative, calls + ncalls
        rows.append((label, seconds, calls))
    return total, rows


def run_profile(data, trials, epochs, directory):
    """Print where the CPU seconds of `trials` trials go, ours against the seed template."""
    results = {}
    results["seed template"] = profile_phases(lambda: _seed_trials(data, epochs, trials, directory))
    results["ours (default)"] = profile_phases(
        lambda: search(
            _mlp(data),
            data[0],
            data[1],
            validation_data=(data[2], data[3]),
            max_trials=trials,
            epochs=epochs,
            time_budget=1e9,  # a deadline that never comes: DeadlineStopping runs, as in a race
            seed=0,
            directory=directory,
            project_name="ours_profile",
            overwrite=True,
            verbose=0,
        ),
    )
    load = _load()
    print(
        f"\nCPU seconds per phase, {trials} trials of at most {epochs} epochs on breast cancer "
        f"(cProfile, process CPU clock; load average {load:.1f})"
    )
    labels = list(results)
    print(f"{'phase':<44}" + "".join(f"{label:>22}" for label in labels))
    totals = {label: results[label][0] for label in labels}
    print(f"{'whole search':<44}" + "".join(f"{totals[label]:>16.2f} s    " for label in labels))
    for i, (phase, _, _) in enumerate(PHASES):
        cells = []
        for label in labels:
            _, seconds, calls = results[label][1][i]
            share = 100 * seconds / totals[label] if totals[label] else 0.0
            cells.append(f"{seconds:>9.2f} s {share:3.0f}% {calls:>4}x")
        print(f"{phase:<44}" + "".join(f"{cell:>22}" for cell in cells))


def _seed_trials(data, epochs, trials, directory):
    x_train, y_train, x_val, y_val, num_classes = data
    tuner = BudgetedRandomSearch(
        seed_template(num_classes),
        objective="val_accuracy",
        max_trials=trials,
        seed=0,
        directory=directory,
        project_name="seed_profile",
        overwrite=True,
    )
    keras.utils.set_random_seed(0)
    tuner.search(
        x_train,
        y_train,
        epochs=epochs,
        validation_data=(x_val, y_val),
        callbacks=[DeadlineStopping(time.time() + 1e9)],
        verbose=0,
    )


def _load():
    """The 1-minute load average when the run ended (NaN where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _mlp(data):
    x_train, num_classes = data[0], data[4]
    return HyperMLP(
        num_features=x_train.shape[1],
        task="binary" if num_classes == 2 else "multiclass",
        num_classes=None if num_classes == 2 else num_classes,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=45.0, help="seconds per search")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial (at most)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per table")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds FIRST..FIRST+SEEDS-1 (default: 0)"
    )
    parser.add_argument("--tables", default="breast_cancer,digits,penguins_sex")
    parser.add_argument("--cnn", action="store_true", help="also HyperCNN on digits images")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile N trials of each search"
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="keep this share of each table out of the search and score each search's best "
        "model on it (default: 0, none)",
    )
    args = parser.parse_args()
    data, tests = datasets(args.holdout)
    if args.profile:
        with tempfile.TemporaryDirectory() as directory:
            run_profile(data["breast_cancer"], args.profile, args.epochs, directory)
        return
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for name in args.tables.split(","):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                runs = [
                    (
                        "seed template",
                        lambda s=seed, n=name: run_seed_template(
                            data[n], args.epochs, args.budget, s, directory, tests[n]
                        ),
                    ),
                    (
                        "ours (default)",
                        lambda s=seed, n=name: run_ours(
                            _mlp(data[n]),
                            data[n],
                            args.epochs,
                            args.budget,
                            s,
                            directory,
                            tests[n],
                        ),
                    ),
                ]
                for label, run in runs if seed % 2 == 0 else runs[::-1]:
                    rows.append((name, label, seed, {**run(), "load": _load()}))
                    print(name, label, seed, rows[-1][3], flush=True)
        if args.cnn:
            x_train, y_train, x_val, y_val, _ = data["digits"]
            images = (x_train.reshape(-1, 8, 8, 1), y_train, x_val.reshape(-1, 8, 8, 1), y_val, 10)
            for seed in range(args.seeds):
                rows.append(
                    (
                        "digits 8x8",
                        "hand-built CNN",
                        seed,
                        hand_built_cnn(images, args.epochs, seed),
                    )
                )
                rows.append(
                    (
                        "digits 8x8",
                        "HyperCNN search",
                        seed,
                        run_ours(
                            HyperCNN((8, 8, 1), 10),
                            images,
                            args.epochs,
                            args.budget,
                            seed,
                            directory,
                        ),
                    )
                )
    print(
        f"\nEqual wall-clock budget: {args.budget:g} s per search, at most {args.epochs} epochs "
        "per trial, 30% validation"
        + (f" of the {1 - args.holdout:.0%} not held out for the test" if args.holdout else "")
    )
    print(
        f"{'table':<15}{'search':<17}{'seed':>5}{'best val acc':>14}{'test acc':>10}{'trials':>8}"
        f"{'stopped':>9}{'seconds':>9}{'trials/h':>10}{'load':>6}"
    )
    for name, label, seed, r in rows:
        rate = r["trials"] / r["seconds"] * 3600
        print(
            f"{name:<15}{label:<17}{seed:>5}{r['best']:>14.4f}{r.get('test', float('nan')):>10.4f}"
            f"{r['trials']:>8}{r.get('stopped', 0):>9}{r['seconds']:>9.1f}{rate:>10.0f}"
            f"{r.get('load', 0):>6.1f}"
        )
    pairs = {}
    for name, label, seed, r in rows:
        pairs.setdefault((name, seed), {})[label] = r
    print("\nours - seed template, per table and seed:")
    for (name, seed), pair in pairs.items():
        if {"seed template", "ours (default)"} <= set(pair):
            ours, base = pair["ours (default)"], pair["seed template"]
            ratio = (ours["trials"] / ours["seconds"]) / (base["trials"] / base["seconds"])
            test = ours.get("test", float("nan")) - base.get("test", float("nan"))
            print(
                f"  {name:<15} seed {seed}: best val acc {ours['best'] - base['best']:+.4f}, "
                f"trials per hour {ratio:.2f}x"
                + (f", test acc {test:+.4f}" if args.holdout else "")
            )
    if args.holdout:
        print("\nmean over seeds, ours - seed template:")
        for name in args.tables.split(","):
            diffs = [
                (p["ours (default)"]["best"] - p["seed template"]["best"],
                 p["ours (default)"]["test"] - p["seed template"]["test"])
                for (n, _), p in pairs.items()
                if n == name and {"seed template", "ours (default)"} <= set(p)
            ]  # fmt: skip
            if diffs:
                val, test = (sum(d[i] for d in diffs) / len(diffs) for i in (0, 1))
                print(f"  {name:<15} best val acc {val:+.4f}, test acc {test:+.4f}")


if __name__ == "__main__":
    main()
