"""Benchmark: our tuning templates against the seed guide's hand-written Keras-Tuner template.

At an equal trial budget (trials x epochs), on scikit-learn's breast-cancer data (standardized,
30% validation) and digits (8x8 images, 30% validation), for several seeds, interleaved per seed
(seed template, then ours): best validation accuracy and trials per hour. Then `workers=2`
against `workers=1` trials per hour, interleaved A B A B after a warm-up run, as a median ratio.

    python benchmarks/tuning.py            # 10 trials x 20 epochs, 2 seeds, 4 worker pairs
    python benchmarks/tuning.py --quick    # a smoke run: 3 trials x 3 epochs, 1 seed, 1 pair

Timing noise on a shared 2-core machine is about +-25%: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def datasets():
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=0)
    mean, std = x_train.mean(0), x_train.std(0)
    cancer = ((x_train - mean) / std, y_train, (x_val - mean) / std, y_val)
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.3, random_state=0)
    digits = (x_train, y_train, x_val, y_val)
    return {"breast_cancer": cancer, "digits": digits}


def run_seed_template(data, num_classes, trials, epochs, seed, directory):
    x_train, y_train, x_val, y_val = data
    x_train, x_val = x_train.reshape(len(x_train), -1), x_val.reshape(len(x_val), -1)
    tuner = kt.RandomSearch(
        seed_template(num_classes),
        objective="val_accuracy",
        max_trials=trials,
        seed=seed,
        directory=directory,
        project_name="seed",
        overwrite=True,
    )
    start = time.perf_counter()
    tuner.search(x_train, y_train, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
    seconds = time.perf_counter() - start
    return tuner.oracle.get_best_trials(1)[0].score, trials / seconds * 3600


def run_ours(template, data, trials, epochs, seed, directory, workers=1):
    x_train, y_train, x_val, y_val = data
    start = time.perf_counter()
    result = search(
        template,
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        tuner="random",
        max_trials=trials,
        epochs=epochs,
        seed=seed,
        directory=directory,
        project_name=f"ours_w{workers}",
        overwrite=True,
        workers=workers,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    done = len(result.completed)
    best = max(r["score"] for r in result.completed) if done else float("nan")
    return best, done / seconds * 3600


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--trials", type=int, default=10, help="trials per search")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per template")
    parser.add_argument("--pairs", type=int, default=4, help="workers=1 / workers=2 pairs")
    args = parser.parse_args()
    trials, epochs, seeds, pairs = (
        (3, 3, [0], 1)
        if args.quick
        else (args.trials, args.epochs, list(range(args.seeds)), args.pairs)
    )
    data = datasets()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for name, split in data.items():
            num_classes = 2 if name == "breast_cancer" else 10
            x_train = split[0]
            templates = {
                "HyperMLP": HyperMLP(
                    num_features=x_train.shape[1],
                    task="binary" if num_classes == 2 else "multiclass",
                    num_classes=None if num_classes == 2 else 10,
                )
            }
            if name == "digits":
                templates["HyperCNN"] = HyperCNN((8, 8, 1), 10)
            for seed in seeds:
                base_acc, base_rate = run_seed_template(
                    split, num_classes, trials, epochs, seed, directory
                )
                rows.append((name, "seed template", seed, base_acc, base_rate, 1.0))
                for label, template in templates.items():
                    shaped = split
                    if label == "HyperCNN":
                        shaped = (
                            split[0].reshape(-1, 8, 8, 1),
                            split[1],
                            split[2].reshape(-1, 8, 8, 1),
                            split[3],
                        )
                    acc, rate = run_ours(template, shaped, trials, epochs, seed, directory)
                    rows.append((name, label, seed, acc, rate, rate / base_rate))
        print(f"\nEqual budget: {trials} trials x {epochs} epochs, random search")
        print(
            f"{'data':<14}{'template':<15}{'seed':>5}{'best val acc':>14}{'trials/h':>10}"
            f"{'rate vs seed':>14}"
        )
        for name, label, seed, acc, rate, ratio in rows:
            print(f"{name:<14}{label:<15}{seed:>5}{acc:>14.4f}{rate:>10.0f}{ratio:>13.2f}x")

        cancer = data["breast_cancer"]
        template = HyperMLP(num_features=30)
        run_ours(template, cancer, trials, epochs, 0, directory, workers=1)  # warm-up
        ratios = []
        for pair in range(pairs):
            _, one = run_ours(template, cancer, trials, epochs, pair, directory, workers=1)
            _, two = run_ours(template, cancer, trials, epochs, pair, directory, workers=2)
            ratios.append(two / one)
            print(f"pair {pair}: workers=1 {one:.0f} trials/h, workers=2 {two:.0f} trials/h")
        print(
            f"\nworkers=2 / workers=1 trials per hour, median of {pairs} interleaved pair(s): "
            f"{statistics.median(ratios):.2f}x"
        )


if __name__ == "__main__":
    main()
