"""Transfer learning and unsupervised pretraining on scikit-learn's digits, with few labels.

**Transfer** (`transfer` table). A small CNN (two conv blocks with BatchNormalization, a dense
layer) is trained on digits 0-4 (every image of them). The new task is digits 5-9 with
`--labels` labels per class (default 20); validation on every other 5-9 image. At equal epochs
(`--epochs`, default 10), batch 16 (`--batch-size`), Adam:

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

`--labels 10` (or 5, with `--batch-size 8`) gives the harder variant of the same transfer.
`--ablation` adds rows of `fine_tune` with one choice changed (`ABLATION`): `lr_mult=1` (no
discriminative rates), `num_groups=2` (fastai's three groups with the head), `div_factor=25`,
`freeze_epochs=0` (no head-only phase, all 10 epochs in phase 2), and both `lr_mult=1` and
`freeze_epochs=0` (then `fine_tune` is `naive_1cycle` but for its 1Cycle's `pct_start=0.3`
and `div_factor=5` and its trials: with `ft_lr_mult_1`, what the head-only epoch is worth).
`--rows naive,fine_tune` runs only those rows.

**Pretraining** (`pretraining` table). Digits 0-9, 70/30 split; the 70% are unlabeled but for
`--labels` labels per class. An encoder (the same conv blocks and dense layer) is pretrained as
a denoising autoencoder on every training image, without labels (`--ae-epochs`, default 15),
then `reuse(encoder, head=10, num_layers=None)`:

* `scratch`, `scratch_1cycle`: the encoder and head from random weights, as above;
* `pretrained`: pretrained encoder, Adam(1e-3) constant;
* `pretrained_fine_tune`: pretrained encoder, `fine_tune` as above.

Prints, per table, the last-epoch validation accuracy per seed, the mean and the min. Times are
not measured (a CPU shared with other jobs makes them noise; the figures here are accuracies).

**Paired summary** (transfer). The seeds are paired: for one seed every row sees the same
pretrained CNN, the same labelled subset and validation set, and every row built by `reuse`
starts from the same weights (head init included); `check_pairing` verifies this from
fingerprints of the exact bytes and stops the run if it fails. (What a row does after its start,
`lr_find` included, draws its own random numbers, so batch order differs between rows: part of
the method.) For each row against `naive`, `naive_1cycle` and (for the `ft_` rows) `fine_tune`,
`paired_summary` prints the mean over seeds of `d_s = acc(row, s) - acc(baseline, s)`, its
standard error `sd(d) / sqrt(n)`, the seeds won / tied (equal accuracy) / lost, and a verdict:
`beats` or `loses` when the mean is more than 2 SE from 0, else `tie`. `--save-runs` writes every
seed's curves (after each seed); `--first-seed` and `--summarize a.json,b.json` let runs of
different seeds be merged into one table and summary.

The peak rates `lr_find` chose (each phase of `fine_tune`, the one cycle of the `_1cycle` rows)
are printed beside the rows.

Usage: python benchmarks/transfer.py [--seeds 5] [--epochs 10] [--labels 20] [--quick]
       [--ablation] [--rows a,b] [--only transfer|pretraining] [--save-curves curves.json]
       [--first-seed 0] [--save-runs runs.json] [--summarize runs.json,more.json]
"""

from __future__ import annotations

import argparse
import hashlib
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
    "ft_lr_mult_1_no_head": dict(lr_mult=1.0, freeze_epochs=0),
}


def fingerprint(*arrays) -> str:
    """A digest of arrays' exact bytes: equal digests mean bit-equal weights or indices."""
    digest = hashlib.sha1()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:12]


def transfer_run(
    seed: int, epochs: int, labels: int, pretrain_epochs: int, ablation: bool = False, rows=None
) -> dict:
    """Validation accuracy curves of each method on the 0-4 -> 5-9 transfer, for one seed.

    Each history also holds the pairing fingerprints `check_pairing` compares across rows:
    `data` (the labelled subset) and, for the rows built by `reuse`, `init` (every weight of
    the model as its row starts training: the pretrained CNN's copied layers and the new head).
    """
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

    inits = {}

    def reused():
        keras.utils.set_random_seed(seed + 2)
        model = compile_model(reuse(pretrained, 5))
        inits[len(inits)] = fingerprint(*model.get_weights())
        return model

    data = fingerprint(chosen, rest)
    curves = {}
    for name, run in methods.items():
        if rows is None or name in rows:
            count = len(inits)
            curves[name] = dict(run(), data=data)
            if len(inits) > count:
                curves[name]["init"] = inits[count]
    return curves


def check_pairing(runs: list[dict]) -> None:
    """Raise unless every row of a seed saw the same data and started from the same weights.

    Same labelled subset for every row; same pretrained CNN and same head init for every row
    built by `reuse` (the `scratch` rows start from their own random CNN, the same for both).
    """
    for seed, run in enumerate(runs):
        for key in ("data", "init"):
            seen = {name: history[key] for name, history in run.items() if key in history}
            if len(set(seen.values())) > 1:
                raise AssertionError(f"seed {seed}: rows are not paired on {key}: {seen}")


#: The rows every other row is compared with, seed by seed, in `paired_summary`.
BASELINES = ("naive", "naive_1cycle", "fine_tune")


def paired_differences(values, reference) -> dict:
    """Mean paired difference `d_s = a_s - b_s` over seeds, its standard error, the verdict.

    `se = sd(d) / sqrt(n)` (sample sd, n - 1); `beats` / `loses` when the mean is more than 2
    SE from 0, else `tie`; `wins` / `ties` / `losses` count seeds (a tie: equal accuracy).
    """
    d = np.asarray(values, dtype="float64") - np.asarray(reference, dtype="float64")
    mean = float(np.mean(d))
    se = float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    ties = np.isclose(d, 0.0, rtol=0.0, atol=1e-6)
    verdict = "tie"
    if not np.isnan(se) and abs(mean) > 2 * se:
        verdict = "beats" if mean > 0 else "loses"
    return dict(
        mean=mean,
        se=se,
        wins=int(np.sum((d > 0) & ~ties)),
        ties=int(np.sum(ties)),
        losses=int(np.sum((d < 0) & ~ties)),
        verdict=verdict,
    )


def paired_summary(title: str, runs: list[dict]) -> str:
    """Each row against each baseline of `BASELINES` that ran: paired over the same seeds."""
    accuracy = {name: [run[name]["val_accuracy"][-1] for run in runs] for name in runs[0]}
    lines = [
        f"{title}: paired differences over {len(runs)} seeds (row - baseline, in points"
        " of accuracy)",
        f"{'row':<22}{'baseline':<16}{'mean':>7}{'se':>7}  {'w/t/l':<9}verdict (2 se)",
    ]
    for baseline in BASELINES:
        if baseline not in accuracy:
            continue
        for name, values in accuracy.items():
            if name == baseline or name.startswith("scratch"):
                continue
            if baseline == "fine_tune" and not name.startswith("ft_"):
                continue
            p = paired_differences(values, accuracy[baseline])
            lines.append(
                f"{name:<22}{baseline:<16}{100 * p['mean']:+7.2f}{100 * p['se']:7.2f}  "
                f"{'/'.join(str(p[k]) for k in ('wins', 'ties', 'losses')):<9}{p['verdict']}"
            )
    return "\n".join(lines)


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


def table(title: str, runs: list[dict], first_seed: int = 0) -> str:
    methods = list(runs[0])
    seeds = range(first_seed, first_seed + len(runs))
    lines = [
        f"{title}: validation accuracy at the last epoch",
        f"{'method':<22}" + "".join(f"  seed {i:>2}" for i in seeds) + "     mean      min",
    ]
    for method in methods:
        values = [run[method]["val_accuracy"][-1] for run in runs]
        found = [run[method].get("lr_found") for run in runs]
        lines.append(
            f"{method:<22}"
            + "".join(f"  {v:7.3f}" for v in values)
            + f"  {np.mean(values):7.3f}  {np.min(values):7.3f}"
            + ("" if found[0] is None else "   lr_find: " + str(_rounded(found)))
        )
    return "\n".join(lines)


def main(argv=None):
    global BATCH_SIZE  # --batch-size sets the batch size every row's training uses
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
    parser.add_argument(
        "--save-runs", default=None, help="transfer: JSON file for every seed's curves"
    )
    parser.add_argument("--first-seed", type=int, default=0, help="transfer: seeds start here")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        help="every row's batch size (--labels 5 needs 8: fine_tune's head phase needs 3 steps)",
    )
    parser.add_argument(
        "--summarize",
        default=None,
        help="transfer: no training; the table and paired summary of --save-runs files a,b,...",
    )
    args = parser.parse_args(argv)
    BATCH_SIZE = args.batch_size
    if args.quick:
        args.seeds, args.epochs, args.pretrain_epochs, args.ae_epochs = 1, 4, 3, 3
    warnings.filterwarnings("ignore", message="lr_find could not trust")
    title = f"transfer 0-4 -> 5-9, {args.labels} labels per class"
    if args.summarize:
        runs = []
        for path in args.summarize.split(","):
            with open(path) as file:
                runs.extend(json.load(file))
        check_pairing(runs)
        print(table(title, runs))
        print(paired_summary(title, runs))
        return
    print(
        f"backend: {keras.backend.backend()}, seeds: {args.seeds} from {args.first_seed}, "
        f"epochs: {args.epochs}, batch size: {args.batch_size}"
    )
    saved = {}
    rows = None if args.rows is None else args.rows.split(",")
    if args.only in (None, "transfer"):
        runs = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            options = (args.epochs, args.labels, args.pretrain_epochs, args.ablation, rows)
            runs.append(transfer_run(seed, *options))
            print(_progress(seed, runs[-1]), flush=True)
            if args.save_runs:  # after every seed: a run cut short keeps what it measured
                with open(args.save_runs, "w") as file:
                    json.dump(runs, file, default=float)
        check_pairing(runs)
        print(table(title, runs, args.first_seed), flush=True)
        print(paired_summary(title, runs), flush=True)
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
