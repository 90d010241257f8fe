"""Knowledge distillation on digits: a distilled small student against the same student alone.

Scikit-learn's digits (8x8 images, 10 classes, 1,797 rows) scaled to [0, 1], a stratified 50%
test split per seed (so the 900 training rows leave room for the teacher's soft targets to
help). Per seed:

* `teacher`: MLP 2 x 256 (ReLU, dropout `--teacher-dropout`), Adam(1e-3), `--teacher-epochs`
  epochs, on the whole training split;
* `alone`: the student, MLP 1 x `--student-units` (ReLU), trained on the labels, Adam(1e-3);
* `distilled`: the same student (same initial weights) in a `Distiller` with the teacher,
  `temperature` and `alpha` from the command line, Adam(1e-3).

With `--student-fraction f < 1` both students see only a stratified fraction `f` of the training
rows (the teacher saw them all): the "soft targets as regularizers" setting of Hinton et al.,
section 5. Both students train for the same `--epochs` epochs, batch 32, and are scored on the
test split (the distilled one alone: `distiller.student`). Prints the test accuracy per seed, and
the mean, min and max over seeds of each and of the difference distilled - alone.

Usage: python benchmarks/distillation.py [--seeds 5] [--epochs 30] [--student-units 16]
       [--teacher-epochs 40] [--teacher-dropout 0.2] [--student-fraction 1.0]
       [--temperature 4] [--alpha 0.1]
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


def split(seed: int):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)


def teacher_model(seed: int, dropout: float) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(10),
        ]
    )


def student_model(seed: int, units: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(units, "relu"), keras.layers.Dense(10)]
    )


def accuracy(model, x, y) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y))


def run(seed: int, args) -> dict:
    x_train, x_test, y_train, y_test = split(seed)
    teacher = teacher_model(1000 + seed, args.teacher_dropout)
    teacher.compile(keras.optimizers.Adam(1e-3), LOSS)
    teacher.fit(x_train, y_train, batch_size=32, epochs=args.teacher_epochs, verbose=0)

    if args.student_fraction < 1.0:
        # The students see a stratified part of the labels; the teacher saw them all.
        x_train, _, y_train, _ = train_test_split(
            x_train, y_train, train_size=args.student_fraction, stratify=y_train, random_state=seed
        )
    alone = student_model(seed, args.student_units)
    alone.compile(keras.optimizers.Adam(1e-3), LOSS)
    keras.utils.set_random_seed(seed)
    alone.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=0)

    student = student_model(seed, args.student_units)  # the same initial weights
    distiller = Distiller(teacher, student, temperature=args.temperature, alpha=args.alpha)
    distiller.compile(keras.optimizers.Adam(1e-3), LOSS)
    keras.utils.set_random_seed(seed)
    distiller.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=0)
    return {
        "teacher": accuracy(teacher, x_test, y_test),
        "alone": accuracy(alone, x_test, y_test),
        "distilled": accuracy(distiller.student, x_test, y_test),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--teacher-epochs", type=int, default=40)
    parser.add_argument("--teacher-dropout", type=float, default=0.2)
    parser.add_argument("--student-units", type=int, default=16)
    parser.add_argument("--student-fraction", type=float, default=1.0)
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--alpha", type=float, default=0.1)
    args = parser.parse_args(argv)

    print(
        f"backend {keras.backend.backend()}, student 1 x {args.student_units}, "
        f"{args.epochs} epochs, T={args.temperature}, alpha={args.alpha}, "
        f"student labels: {args.student_fraction:.0%} of the training split"
    )
    print(f"{'seed':>4}  {'teacher':>8}  {'alone':>8}  {'distilled':>9}  {'diff':>7}")
    rows = []
    for seed in range(args.seeds):
        row = run(seed, args)
        rows.append(row)
        print(
            f"{seed:>4}  {row['teacher']:>8.4f}  {row['alone']:>8.4f}  "
            f"{row['distilled']:>9.4f}  {row['distilled'] - row['alone']:>+7.4f}"
        )
    diffs = np.array([r["distilled"] - r["alone"] for r in rows])
    for key in ("teacher", "alone", "distilled"):
        values = np.array([r[key] for r in rows])
        print(f"{key:>9}: mean {values.mean():.4f}  min {values.min():.4f}  max {values.max():.4f}")
    print(
        f"distilled - alone: mean {diffs.mean():+.4f}  min {diffs.min():+.4f}  "
        f"max {diffs.max():+.4f}  (better on {int((diffs > 0).sum())} of {len(diffs)} seeds)"
    )


if __name__ == "__main__":
    main()
