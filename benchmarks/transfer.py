"""Transfer learning and unsupervised pretraining on scikit-learn's digits, with few labels.

**Transfer** (`transfer` table). A small CNN (two conv blocks with BatchNormalization, a dense
layer) is trained on digits 0-4 (every image of them). The new task is digits 5-9 with
`--labels` labels per class (default 20); validation on every other 5-9 image. At equal epochs
(`--epochs`, default 10), batch 16, Adam:

* `scratch`: the same CNN from random weights, Adam(1e-3) constant;
* `scratch_1cycle`: the same, with `lr_find` then `OneCycle` (our recipe without transfer);
* `naive`: `reuse(pretrained, head=5)`, everything trainable, Adam(1e-3) constant;
* `naive_1cycle`: the same with `lr_find` then `OneCycle`;
* `fine_tune`: `reuse(pretrained, head=5)` then `fine_tune(..., freeze_epochs=1,
  epochs=E - 1)`: head alone, then all layers with discriminative rates and 1Cycle, `lr_find`
  before each phase (and trials of a phase shorter than its range test); fastai's defaults
  `lr_mult=100` (bottom group at 1/100 of the head) and `div_factor=5` (phase 2 warms up from
  its peak / 5);
* `ft_no_trials`: the same with `phase_trials=0` (each phase at the range test's rate, as
  `fine_tune` did before the trials);
* `ft_lr_mult_10`: the same with `lr_mult=10`;
* `ft_ulmfit_2.6`: the same with ULMFiT's 2.6 per group, `lr_mult=2.6**3` for the 3 groups.

`--labels 10` (or 5) gives the harder variant of the same transfer. `--ablation` adds rows of
`fine_tune` with one choice changed (`ABLATION`): `lr_mult=1` (no discriminative rates),
`num_groups=2` (fastai's three groups with the head), `div_factor=25`, `freeze_epochs=0` (no
head-only phase, all 10 epochs in phase 2). `--rows naive,fine_tune` runs only those rows.

**Pretraining** (`pretraining` table). Digits 0-9, 70/30 split; the 70% are unlabeled but for
`--labels` labels per class. An encoder (the same conv blocks and dense layer) is pretrained as
a denoising autoencoder on every training image, without labels (`--ae-epochs`, default 15),
then `reuse(encoder, head=10, num_layers=None)`:

* `scratch`, `scratch_1cycle`: the encoder and head from random weights, as above;
* `pretrained`: pretrained encoder, Adam(1e-3) constant;
* `pretrained_fine_tune`: pretrained encoder, `fine_tune` as above.

Prints, per table, the last-epoch validation accuracy per seed, the mean and the min. Times are
not measured (a CPU shared with other jobs makes them noise; the figures here are accuracies).

The peak rates `lr_find` chose (each phase of `fine_tune`, the one cycle of the `_1cycle` rows)
are printed beside the rows.

Usage: python benchmarks/transfer.py [--seeds 5] [--epochs 10] [--labels 20] [--quick]
       [--ablation] [--rows a,b] [--only transfer|pretraining] [--save-curves curves.json]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_nnperf.callbacks.lr_finder import lr_find  # noqa: E402
from keras_nnperf.callbacks.one_cycle import OneCycle  # noqa: E402
from keras_nnperf.transfer import (  # noqa: E402
    fine_tune,
    pretrain_autoencoder,
    reuse,
    reused_layer_names,
)

BATCH_SIZE = 16
LOSS = "sparse_categorical_crossentropy"


def digits():
    """Images `(n, 8, 8, 1)` in [0, 1] and labels."""
    data = load_digits()
    return (data.images / 16.0).astype("float32")[..., None], data.target.astype("int32")


def encoder_layers():
    return [
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.BatchNormalization(name="bn1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.BatchNormalization(name="bn2"),
        keras.layers.MaxPooling2D(name="pool2"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(64, activation="relu", name="dense"),
    ]


def cnn(classes: int, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            *encoder_layers(),
            keras.layers.Dense(classes, activation="softmax", name="head"),
        ]
    )


def encoder(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8, 8, 1)), *encoder_layers()], name="encoder")


def compile_model(model, learning_rate=1e-3):
    model.compile(keras.optimizers.Adam(learning_rate), LOSS, metrics=["accuracy"])
    return model


def few_labels(y, classes, per_class, rng):
    """Indices of `per_class` examples of each class in `classes`."""
    return np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes]
    )


def train_constant(model, train, val, epochs):
    history = model.fit(*train, batch_size=BATCH_SIZE, epochs=epochs, validation_data=val,
                        verbose=0)  # fmt: skip
    return history.history


def train_one_cycle(model, train, val, epochs):
    found = lr_find(model, *train, batch_size=BATCH_SIZE)
    history = model.fit(
        *train,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        validation_data=val,
        callbacks=[OneCycle(max_lr=found.suggestion)],
        verbose=0,
    )
    return dict(history.history, lr_found=[found.suggestion])


def train_fine_tune(model, train, val, epochs, freeze_epochs=1, **options):
    result = fine_tune(
        model,
        *train,
        base=reused_layer_names(model, "head"),
        epochs=epochs - freeze_epochs,
        freeze_epochs=freeze_epochs,
        batch_size=BATCH_SIZE,
        validation_data=val,
        **options,
    )
    history = dict(result.history)
    history["lr_found"] = list(result.learning_rates)
    return history


#: The `fine_tune` rows of the transfer table: its defaults, then the base-rate choices.
FINE_TUNE = {
    "fine_tune": {},
    "ft_no_trials": dict(phase_trials=0),
    "ft_lr_mult_10": dict(lr_mult=10.0),
    "ft_ulmfit_2.6": dict(lr_mult=2.6**3),
}

#: `--ablation`: `fine_tune` with one choice changed at a time (what each part is worth).
ABLATION = {
    "ft_lr_mult_1": dict(lr_mult=1.0),
    "ft_2_groups_fastai": dict(num_groups=2),
    "ft_div_25": dict(div_factor=25.0),
    "ft_no_head_phase": dict(freeze_epochs=0),
}


def transfer_run(
    seed: int, epochs: int, labels: int, pretrain_epochs: int, ablation: bool = False, rows=None
) -> dict:
    """Validation accuracy curves of each method on the 0-4 -> 5-9 transfer, for one seed."""
    x, y = digits()
    rng = np.random.default_rng(seed)
    source = y < 5
    pretrained = compile_model(cnn(5, seed))
    pretrained.fit(x[source], y[source], batch_size=32, epochs=pretrain_epochs, verbose=0)
    target = np.flatnonzero(~source)
    chosen = few_labels(y, range(5, 10), labels, rng)
    rest = np.setdiff1d(target, chosen)
    train = (x[chosen], y[chosen] - 5)
    val = (x[rest], y[rest] - 5)
    methods = {
        "scratch": lambda: train_constant(compile_model(cnn(5, seed + 1)), train, val, epochs),
        "scratch_1cycle": lambda: train_one_cycle(
            compile_model(cnn(5, seed + 1)), train, val, epochs
        ),
        "naive": lambda: train_constant(reused(), train, val, epochs),
        "naive_1cycle": lambda: train_one_cycle(reused(), train, val, epochs),
    }
    for name, options in {**FINE_TUNE, **(ABLATION if ablation else {})}.items():
        methods[name] = lambda options=options: train_fine_tune(
            reused(), train, val, epochs, **options
        )

    def reused():
        keras.utils.set_random_seed(seed + 2)
        return compile_model(reuse(pretrained, 5))

    return {name: run() for name, run in methods.items() if rows is None or name in rows}


def pretraining_run(seed: int, epochs: int, labels: int, ae_epochs: int) -> dict:
    """Validation accuracy curves with and without autoencoder pretraining, for one seed."""
    x, y = digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    split = int(0.7 * len(x))
    pool, held = order[:split], order[split:]
    chosen = pool[few_labels(y[pool], range(10), labels, rng)]
    train, val = (x[chosen], y[chosen]), (x[held], y[held])
    curves = {}

    def fresh():
        return compile_model(reuse(encoder(seed + 1), 10, num_layers=None, copy=False))

    curves["scratch"] = train_constant(fresh(), train, val, epochs)
    curves["scratch_1cycle"] = train_one_cycle(fresh(), train, val, epochs)
    pretrained_encoder = encoder(seed + 1)
    pretrain_autoencoder(pretrained_encoder, x[pool], epochs=ae_epochs, noise_stddev=0.1)
    keras.utils.set_random_seed(seed + 2)
    model = compile_model(reuse(pretrained_encoder, 10, num_layers=None))
    curves["pretrained"] = train_constant(model, train, val, epochs)
    keras.utils.set_random_seed(seed + 2)
    model = compile_model(reuse(pretrained_encoder, 10, num_layers=None))
    curves["pretrained_fine_tune"] = train_fine_tune(model, train, val, epochs)
    return curves


def _rounded(found):
    return [[float(f"{rate:.2g}") for rate in rates] for rates in found]


def _progress(seed: int, run: dict) -> str:
    """One seed's last-epoch accuracies and rates, printed as soon as the seed is done."""
    return f"seed {seed}: " + ", ".join(
        f"{method} {history['val_accuracy'][-1]:.3f}"
        + ("" if "lr_found" not in history else f" (lr {_rounded([history['lr_found']])[0]})")
        for method, history in run.items()
    )


def table(title: str, runs: list[dict]) -> str:
    methods = list(runs[0])
    lines = [
        f"{title}: validation accuracy at the last epoch",
        f"{'method':<22}" + "".join(f"  seed {i}" for i in range(len(runs))) + "     mean      min",
    ]
    for method in methods:
        values = [run[method]["val_accuracy"][-1] for run in runs]
        found = [run[method].get("lr_found") for run in runs]
        lines.append(
            f"{method:<22}"
            + "".join(f"  {v:6.3f}" for v in values)
            + f"  {np.mean(values):7.3f}  {np.min(values):7.3f}"
            + ("" if found[0] is None else "   lr_find: " + str(_rounded(found)))
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--labels", type=int, default=20, help="labels per class")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--ae-epochs", type=int, default=15)
    parser.add_argument("--only", choices=["transfer", "pretraining"], default=None)
    parser.add_argument("--quick", action="store_true", help="one seed, short runs (smoke)")
    parser.add_argument(
        "--ablation", action="store_true", help="transfer: fine_tune with one choice changed"
    )
    parser.add_argument(
        "--rows", default=None, help="transfer: comma-separated rows to run (default: all)"
    )
    parser.add_argument("--save-curves", default=None, help="JSON file for seed 0's curves")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.pretrain_epochs, args.ae_epochs = 1, 4, 3, 3
    warnings.filterwarnings("ignore", message="lr_find could not trust")
    print(f"backend: {keras.backend.backend()}, seeds: {args.seeds}, epochs: {args.epochs}")
    saved = {}
    rows = None if args.rows is None else args.rows.split(",")
    if args.only in (None, "transfer"):
        runs = []
        for seed in range(args.seeds):
            options = (args.epochs, args.labels, args.pretrain_epochs, args.ablation, rows)
            runs.append(transfer_run(seed, *options))
            print(_progress(seed, runs[-1]), flush=True)
        print(table(f"transfer 0-4 -> 5-9, {args.labels} labels per class", runs), flush=True)
        saved["transfer"] = runs[0]
    if args.only in (None, "pretraining"):
        runs = [
            pretraining_run(seed, args.epochs, args.labels, args.ae_epochs)
            for seed in range(args.seeds)
        ]
        print(table(f"autoencoder pretraining, {args.labels} labels per class", runs))
        saved["pretraining"] = runs[0]
    if args.save_curves:
        with open(args.save_curves, "w") as file:
            json.dump(saved, file, default=float)


if __name__ == "__main__":
    main()
