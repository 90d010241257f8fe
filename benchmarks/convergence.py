"""Epochs and wall time to reach a validation accuracy on digits, per learning-rate policy.

Policies (Adam, batch 32, 30% validation, scikit-learn's digits scaled to [0, 1]):

* `default`: Keras's default, Adam(1e-3) constant.
* `plateau`: Adam(1e-3) + `keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3)`.
* `warmup_cosine`: Adam on `keras_nnperf.schedules.warmup_cosine(1e-3, ...)`, one warm-up epoch,
  cosine over the epoch budget.
* `lr_find_one_cycle`: `lr_find` (100 steps), then `OneCycle()` taking `max_lr` from it (not
  tuned by hand), one cycle over `--cycle-epochs`; the lr_find time is included.
* `recipe`: what `nnperf fit` does, `keras_nnperf.recipe`: the output layer started at the
  trivial baseline, `lr_find`'s robust rule picks the peak, then `train_with_recipe` (warm-up,
  1Cycle planned over the whole `--max-epochs` budget that jumps to its annealing phase when
  `val_loss` stops improving, best weights kept, monitors attached); lr_find time included.
* `recipe_short`: the same with a budget of `--cycle-epochs` epochs, as `nnperf fit --epochs`
  would give it.

Each run stops at the first epoch whose `val_accuracy` reaches the target. Prints one table per
model with the epochs per seed, their median, the median wall time, and the median ratio of
epochs to `default`. `--quick`: one seed, MLP only.

Usage: python benchmarks/convergence.py [--quick] [--seeds 3] [--target 0.975]
       [--models cnn] [--policies recipe recipe_short]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_nnperf.callbacks.lr_finder import lr_find  # noqa: E402
from keras_nnperf.callbacks.one_cycle import OneCycle  # noqa: E402
from keras_nnperf.recipe.model import start_at_baseline  # noqa: E402
from keras_nnperf.recipe.training import choose_learning_rate, train_with_recipe  # noqa: E402
from keras_nnperf.schedules import warmup_cosine  # noqa: E402
from keras_nnperf.tabular import TabularData  # noqa: E402

BATCH_SIZE = 32


class StopAtTarget(keras.callbacks.Callback):
    """Stop at the first epoch whose val_accuracy reaches `target`; remember that epoch."""

    def __init__(self, target):
        super().__init__()
        self.target, self.reached = target, None

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("val_accuracy", 0.0) >= self.target:
            self.reached = epoch + 1
            self.model.stop_training = True


def load_data(seed):
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    return train_test_split(x, digits.target, test_size=0.3, random_state=seed)


def build_mlp():
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def build_cnn():
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Reshape((8, 8, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def run(policy, build, seed, args):
    keras.utils.set_random_seed(seed)
    x_train, x_val, y_train, y_val = load_data(seed)
    steps_per_epoch = -(-len(x_train) // BATCH_SIZE)
    model = build()
    callbacks = [StopAtTarget(args.target)]
    start = time.perf_counter()
    if policy == "warmup_cosine":
        learning_rate = warmup_cosine(1e-3, args.max_epochs * steps_per_epoch, steps_per_epoch)
    else:
        learning_rate = 1e-3
    model.compile(
        keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    if policy == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3))
    if policy == "lr_find_one_cycle":
        lr_find(model, x_train, y_train, batch_size=BATCH_SIZE, num_steps=100)
        callbacks.append(OneCycle(steps=args.cycle_epochs * steps_per_epoch))
    if policy.startswith("recipe"):
        start_at_baseline(model, y_train, "multiclass")
        data = TabularData(x_train, y_train, x_val, y_val, preprocessor=None)
        choice = choose_learning_rate(model, data, BATCH_SIZE)
        budget = args.max_epochs if policy == "recipe" else args.cycle_epochs
        train_with_recipe(model, data, budget, BATCH_SIZE, choice.rate, 0, callbacks)
        return callbacks[0].reached, time.perf_counter() - start
    model.fit(
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        epochs=args.max_epochs,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=0,
    )
    return callbacks[0].reached, time.perf_counter() - start


MODELS = {"mlp_2x256": build_mlp, "cnn": build_cnn}
POLICIES = (
    "default",
    "plateau",
    "warmup_cosine",
    "lr_find_one_cycle",
    "recipe",
    "recipe_short",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, MLP only")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.975)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--cycle-epochs", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=MODELS, help="default: both")
    parser.add_argument(
        "--policies", nargs="+", choices=POLICIES, help="default: all (`default` always runs)"
    )
    args = parser.parse_args()
    seeds = [0] if args.quick else list(range(args.seeds))
    names = ["mlp_2x256"] if args.quick else (args.models or list(MODELS))
    models = {name: MODELS[name] for name in names}
    # `default` always runs: the ratio column is against it.
    policies = ["default", *[p for p in (args.policies or POLICIES) if p != "default"]]
    print(
        f"digits, batch {BATCH_SIZE}, 30% validation, target val_accuracy {args.target}, "
        f"max {args.max_epochs} epochs, seeds {seeds}"
    )
    for model_name, build in models.items():
        results = {
            policy: [run(policy, build, seed, args) for seed in seeds] for policy in policies
        }
        default = [epochs or np.inf for epochs, _ in results["default"]]
        print(f"\n{model_name}")
        print("| policy | epochs per seed | median epochs | median wall s | epochs / default |")
        print("|---|---|---|---|---|")
        for policy, runs in results.items():
            epochs = [e if e is not None else np.inf for e, _ in runs]
            shown = ", ".join(str(e) if e is not None else f">{args.max_epochs}" for e, _ in runs)
            # Runs where neither reached the target (inf / inf) say nothing about the ratio.
            with np.errstate(invalid="ignore"):
                ratios = np.array(epochs) / np.array(default)
            ratio = np.nanmedian(ratios) if np.isfinite(ratios).any() else np.nan
            median = np.median(epochs)
            print(
                f"| {policy} | {shown} | {median:g} | {np.median([s for _, s in runs]):.1f} "
                f"| {ratio:.2f} |"
            )


if __name__ == "__main__":
    main()
