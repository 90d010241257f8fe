"""Is the suggested learning rate any good? Every rule's rate, trained, on real bundled tables.

For each table that ships with scikit-learn (diabetes and linnerud regression, breast cancer,
wine, iris and digits classification) and each seed: a stratified 75/25 split, inputs (and a
regression target) standardized on the training part, the default network
(`keras_nnperf.pipeline.build_model`, AdamW), `lr_find` with its defaults (batch 32). Then a
short fixed training for each suggested rate and for Keras's default 1e-3: AdamW at that
constant rate, 30 epochs, batch 32, the weights of the best `val_loss` epoch restored; the score
is validation accuracy (classification) or R2 (regression).

Rows: the old default (`steepest` on the whole curve, as before this rule existed), the three
named rules on the trimmed curve, the new default `auto`, and 1e-3. `--save-curves FILE` keeps
every curve in an `.npz` (to study the rules without training); `--plot DIR` writes each curve's
picture.

Usage: python benchmarks/lr_suggestion.py [--seeds 3] [--epochs 30] [--tables diabetes,wine]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_nnperf.callbacks.lr_finder import lr_find  # noqa: E402
from keras_nnperf.pipeline import build_model, compile_for_task  # noqa: E402

BATCH_SIZE = 32
TABLES = {
    "diabetes": (datasets.load_diabetes, "regression"),
    "linnerud": (datasets.load_linnerud, "regression"),
    "breast_cancer": (datasets.load_breast_cancer, "binary"),
    "wine": (datasets.load_wine, "multiclass"),
    "iris": (datasets.load_iris, "multiclass"),
    "digits": (datasets.load_digits, "multiclass"),
}
ROWS = ("old steepest", "steepest", "minimum/10", "valley", "auto", "1e-3")


def old_steepest(lrs, losses):
    """The default before `auto`: steepest fall on the whole curve after its first tenth."""
    end = int(np.nanargmin(losses)) + 1
    start = len(losses) // 10
    if end - start < 3:
        return float(lrs[max(end - 1, 0)])
    slopes = np.gradient(losses[start:end], np.log(lrs[start:end]))
    return float(lrs[start + int(np.nanargmin(slopes))])


def load(name, seed):
    loader, task = TABLES[name]
    x, y = loader(return_X_y=True)
    if y.ndim > 1:  # linnerud has three targets: keep the first (weight)
        y = y[:, 0]
    stratify = y if task != "regression" else None
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    x_train, x_val = (
        ((x_train - mean) / std).astype("float32"),
        ((x_val - mean) / std).astype("float32"),
    )
    if task == "regression":
        y_mean, y_std = y_train.mean(), y_train.std()
        y_train, y_val = (y_train - y_mean) / y_std, (y_val - y_mean) / y_std
        y_train, y_val = y_train.astype("float32"), y_val.astype("float32")
    classes = int(len(np.unique(y))) if task == "multiclass" else None
    return task, classes, (x_train, y_train), (x_val, y_val)


def score(model, task, x_val, y_val) -> float:
    prediction = model.predict(x_val, verbose=0, batch_size=256)
    if task == "regression":
        residual = ((y_val - prediction[:, 0]) ** 2).sum()
        return float(1 - residual / ((y_val - y_val.mean()) ** 2).sum())
    if task == "binary":
        return float(((prediction[:, 0] > 0.5) == y_val).mean())
    return float((prediction.argmax(1) == y_val).mean())


def train_at(rate, task, classes, train, val, seed, epochs) -> float:
    keras.utils.set_random_seed(seed)
    model = build_model(train[0].shape[1], task, classes, seed)
    compile_for_task(model, task, learning_rate=rate)
    best = keras.callbacks.EarlyStopping(patience=epochs, restore_best_weights=True)
    model.fit(
        *train,
        validation_data=val,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        verbose=0,
        callbacks=[best],
    )
    return score(model, task, *val)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--save-curves", default=None)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--no-train", action="store_true", help="suggestions only")
    args = parser.parse_args()
    curves, table = {}, []
    print(f"backend {keras.backend.backend()}, {args.seeds} seeds, {args.epochs} epochs")
    for name in args.tables.split(","):
        for seed in range(args.seeds):
            task, classes, train, val = load(name, seed)
            keras.utils.set_random_seed(seed)
            model = build_model(train[0].shape[1], task, classes, seed)
            result = lr_find(model, *train, batch_size=BATCH_SIZE)
            key = f"{name}/{seed}"
            curves[f"{key}/lrs"], curves[f"{key}/losses"] = result.lrs, result.losses
            curves[f"{key}/raw"] = result.raw_losses
            if args.plot:
                os.makedirs(args.plot, exist_ok=True)
                figure = result.plot()
                figure.savefig(os.path.join(args.plot, f"{name}_{seed}.png"), dpi=90)
                import matplotlib.pyplot as plt

                plt.close(figure)
            rates = dict(result.suggestions)
            rates["old steepest"] = old_steepest(result.lrs, result.losses)
            rates["1e-3"] = 1e-3
            scores = {}
            if not args.no_train:
                done = {}
                for row in ROWS:
                    rate = rates[row]
                    if rate not in done:
                        done[rate] = train_at(rate, task, classes, train, val, seed, args.epochs)
                    scores[row] = done[rate]
            rule = f"{result.rule} ({len(result.attempts)} run{'s' * (len(result.attempts) > 1)})"
            table.append((name, seed, rule, rates, scores))
            line = "  ".join(
                f"{row} {rates[row]:.1e}" + (f" ({scores[row]:.3f})" if scores else "")
                for row in ROWS
            )
            print(f"{name:13s} {seed}  [{rule}] {line}", flush=True)
            print(f"    {result.reason}", flush=True)
    if args.save_curves:
        np.savez(args.save_curves, **curves)
    print()
    print("| table | seed | rule chosen | " + " | ".join(ROWS) + " |")
    print("|---|---|---|" + "---|" * len(ROWS))
    for name, seed, rule, rates, scores in table:
        cells = [f"{rates[row]:.1e}" + (f" ({scores[row]:.3f})" if scores else "") for row in ROWS]
        print(f"| {name} | {seed} | {rule} | " + " | ".join(cells) + " |")
    if not args.no_train:
        print()
        print("Median over tables and seeds of (score at the rule's rate - score at 1e-3):")
        for row in ROWS[:-1]:
            gaps = [scores[row] - scores["1e-3"] for *_, scores in table]
            print(f"  {row:13s} median {np.median(gaps):+.3f}  worst {min(gaps):+.3f}")
    low = min(rates["auto"] for *_, rates, _ in table)
    print(f"smallest auto suggestion: {low:.2e}")


if __name__ == "__main__":
    main()
