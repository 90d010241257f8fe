"""Knowledge distillation on digits: a distilled small student against the same student alone.

Scikit-learn's digits (8x8 images, 10 classes, 1,797 rows) scaled to [0, 1], a stratified 50%
test split per seed (898 training rows). Per seed:

* `teacher`: `--teacher mlp` (MLP 2 x 256, ReLU, dropout `--teacher-dropout`) or `cnn` (two 3x3
  convolutions of 32 and 64 filters, max pooling, dense 128, dropout 0.3), Adam(1e-3),
  `--teacher-epochs` epochs;
* `alone`: the student, MLP 1 x `--student-units` (ReLU), trained on the labels, Adam(1e-3);
* `distilled`: the same student (same initial weights) in a `Distiller` with the teacher,
  `temperature` and `alpha` from the command line, Adam(1e-3).

With `--student-fraction f < 1` the students have labels for a stratified fraction `f` of the
training rows only. The teacher saw all training labels, unless `--teacher-labeled-only`
(then it saw the same labeled rows as the students). With `--transfer` the distilled student
also trains on the other training rows *without* their labels (label -1 and a loss with
`ignore_class=-1`: the teacher's soft targets are all it learns from them), Hinton et al.'s
"transfer set". That student then takes about `1 / f` times as many optimizer steps per epoch,
so `--alone-equal-steps` also trains the student alone for `epochs / f` epochs (the same number
of steps) and reports the difference against that stronger baseline too.

With `--augment` every arm (teacher included) trains on rows shifted by -1, 0 or 1 pixel in each
direction, drawn anew per epoch; the teacher labels the very rows the student sees ("function
matching", Beyer et al. 2022), as `Distiller` always does.

Both students train for the same `--epochs` epochs, batch 32, and are scored on the test split
(the distilled one alone: `distiller.student`). Prints the test accuracy per seed, and the mean,
min and max over seeds of each and of the difference distilled - alone. Accuracies, not timings:
the machine's load does not change them.

Usage: python benchmarks/distillation.py [--seeds 5] [--epochs 30] [--student-units 16]
       [--teacher mlp|cnn] [--teacher-epochs 40] [--teacher-dropout 0.2]
       [--student-fraction 1.0] [--teacher-labeled-only] [--transfer] [--alone-equal-steps]
       [--augment] [--temperature 4] [--alpha 0.1]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_nnperf.distillation import Distiller  # noqa: E402

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
UNLABELED = -1


def split(seed: int):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)


def shifted(x, rng):
    """Each 8x8 image moved by -1, 0 or 1 pixel along each axis, zero filled."""
    images = np.pad(x.reshape(-1, 8, 8), ((0, 0), (1, 1), (1, 1)))
    dy = rng.integers(0, 3, len(x))
    dx = rng.integers(0, 3, len(x))
    out = np.empty((len(x), 8, 8), x.dtype)
    for i in range(len(x)):
        out[i] = images[i, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8]
    return out.reshape(-1, 64)


def fit(model, x, y, epochs: int, seed: int | None, augment_seed: int | None) -> None:
    """`epochs` epochs of batch 32, from Keras's seed `seed` (None: go on from the current state).

    With `augment_seed`, on `epochs` shuffled, freshly shifted copies of the rows, in one pass.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if augment_seed is None:
        model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
        return
    rng = np.random.default_rng(augment_seed)
    xs, ys = [], []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        xs.append(shifted(x[order], rng))
        ys.append(y[order])
    model.fit(np.concatenate(xs), np.concatenate(ys), batch_size=32, epochs=1, verbose=0)


def teacher_model(seed: int, kind: str, dropout: float) -> keras.Model:
    keras.utils.set_random_seed(seed)
    if kind == "cnn":
        layers = [
            keras.layers.Reshape((8, 8, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(128, "relu"),
            keras.layers.Dropout(0.3),
        ]
    else:
        layers = [
            keras.layers.Dense(256, "relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dropout(dropout),
        ]
    return keras.Sequential([keras.Input((64,)), *layers, keras.layers.Dense(10)])


def student_model(seed: int, units: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(units, "relu"), keras.layers.Dense(10)]
    )


def accuracy(model, x, y) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y))


def run(seed: int, args) -> dict:
    x_train, x_test, y_train, y_test = split(seed)
    labeled = np.arange(len(x_train))
    if args.student_fraction < 1.0:
        # The students have a stratified part of the labels.
        labeled = train_test_split(
            labeled, train_size=args.student_fraction, stratify=y_train, random_state=seed
        )[0]
    x_labeled, y_labeled = x_train[labeled], y_train[labeled]

    teacher = teacher_model(1000 + seed, args.teacher, args.teacher_dropout)
    teacher.compile(keras.optimizers.Adam(1e-3), LOSS)
    teacher_rows = (x_labeled, y_labeled) if args.teacher_labeled_only else (x_train, y_train)
    # The teacher trains on from the seed `teacher_model` set.
    fit(teacher, *teacher_rows, args.teacher_epochs, None, seed if args.augment else None)
    result = {"teacher": accuracy(teacher, x_test, y_test)}

    def alone(epochs):
        model = student_model(seed, args.student_units)
        model.compile(keras.optimizers.Adam(1e-3), LOSS)
        fit(model, x_labeled, y_labeled, epochs, seed, seed + 7 if args.augment else None)
        return accuracy(model, x_test, y_test)

    result["alone"] = alone(args.epochs)
    if args.alone_equal_steps:
        result["alone_equal_steps"] = alone(round(args.epochs / args.student_fraction))

    x_distill, y_distill = x_labeled, y_labeled
    if args.transfer:
        # The other training rows, without their labels: only the teacher speaks for them.
        x_distill, y_distill = x_train, np.full_like(y_train, UNLABELED)
        y_distill[labeled] = y_labeled
    student = student_model(seed, args.student_units)  # the same initial weights
    distiller = Distiller(teacher, student, temperature=args.temperature, alpha=args.alpha)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=UNLABELED)
    distiller.compile(keras.optimizers.Adam(1e-3), loss)
    fit(distiller, x_distill, y_distill, args.epochs, seed, seed + 7 if args.augment else None)
    result["distilled"] = accuracy(student, x_test, y_test)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--teacher", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--teacher-epochs", type=int, default=40)
    parser.add_argument("--teacher-dropout", type=float, default=0.2)
    parser.add_argument("--student-units", type=int, default=16)
    parser.add_argument("--student-fraction", type=float, default=1.0)
    parser.add_argument("--teacher-labeled-only", action="store_true")
    parser.add_argument("--transfer", action="store_true")
    parser.add_argument("--alone-equal-steps", action="store_true")
    parser.add_argument("--augment", action="store_true")
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--alpha", type=float, default=0.1)
    args = parser.parse_args(argv)
    if (args.transfer or args.alone_equal_steps) and args.student_fraction >= 1.0:
        parser.error("--transfer and --alone-equal-steps need --student-fraction < 1")

    print(
        f"backend {keras.backend.backend()}, teacher {args.teacher}, student 1 x "
        f"{args.student_units}, {args.epochs} epochs, T={args.temperature}, alpha={args.alpha}, "
        f"student labels: {args.student_fraction:.0%} of the training split"
        f"{', teacher on those only' if args.teacher_labeled_only else ''}"
        f"{', rest as a transfer set' if args.transfer else ''}"
        f"{', shift augmentation' if args.augment else ''}"
    )
    rows = []
    for seed in range(args.seeds):
        row = run(seed, args)
        rows.append(row)
        cells = "  ".join(f"{key} {value:.4f}" for key, value in row.items())
        print(f"seed {seed}  {cells}  diff {row['distilled'] - row['alone']:+.4f}", flush=True)
    for key in rows[0]:
        values = np.array([r[key] for r in rows])
        print(
            f"{key:>17}: mean {values.mean():.4f}  min {values.min():.4f}  max {values.max():.4f}"
        )
    for baseline in [key for key in ("alone", "alone_equal_steps") if key in rows[0]]:
        diffs = np.array([r["distilled"] - r[baseline] for r in rows])
        print(
            f"distilled - {baseline}: mean {diffs.mean():+.4f}  min {diffs.min():+.4f}  "
            f"max {diffs.max():+.4f}  (better on {int((diffs > 0).sum())} of {len(diffs)} seeds)"
        )


if __name__ == "__main__":
    main()
