"""Draw the picture of docs/distillation.md into docs/images/distillation/.

Usage: python docs/plot_distillation.py   (a few minutes on two CPU cores; no downloads)
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_nnperf.distillation import Distiller, soft_targets  # noqa: E402

OUT = Path(__file__).parent / "images" / "distillation"
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
EPOCHS = 30


def _benchmark():
    # The benchmark's data and models, so the picture shows the measured setting.
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    import distillation as benchmark

    return benchmark


def soft_target_bars(ax, teacher, x, y):
    """The teacher's distribution for one test digit, hard and softened."""
    index = int(np.argmax(y == 3))
    logits = teacher(x[index : index + 1], training=False)
    width = 0.27
    for offset, temperature, color in (
        (-1, 1.0, "tab:gray"),
        (0, 4.0, "tab:blue"),
        (1, 10.0, "tab:green"),
    ):
        probabilities = keras.ops.convert_to_numpy(soft_targets(logits, temperature))[0]
        ax.bar(
            np.arange(10) + offset * width,
            probabilities,
            width,
            color=color,
            label=f"T = {temperature:g}",
        )
    ax.set(
        xticks=range(10),
        xlabel="class",
        ylabel="softmax(z / T)",
        yscale="log",
        ylim=(1e-6, 1.5),
        title=f"The teacher on a test '{y[index]}': soft targets rank the wrong classes",
    )
    ax.legend()


def curves(ax, benchmark, x_train, y_train, x_test, y_test, teacher, fraction, style):
    if fraction < 1.0:
        x_train, _, y_train, _ = train_test_split(
            x_train, y_train, train_size=fraction, stratify=y_train, random_state=0
        )
    for label, color in (("alone", "tab:gray"), ("distilled", "tab:blue")):
        student = benchmark.student_model(0, 16)
        model = student if label == "alone" else Distiller(teacher, student)
        model.compile(keras.optimizers.Adam(1e-3), LOSS, metrics=["accuracy"])
        keras.utils.set_random_seed(0)
        history = model.fit(
            x_train,
            y_train,
            batch_size=32,
            epochs=EPOCHS,
            validation_data=(x_test, y_test),
            verbose=0,
        )
        ax.plot(
            range(1, EPOCHS + 1),
            history.history["val_accuracy"],
            style,
            color=color,
            label=f"{label}, {len(x_train)} labelled rows",
        )


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    benchmark = _benchmark()
    x_train, x_test, y_train, y_test = benchmark.split(0)
    teacher = benchmark.teacher_model(1000, 0.2)
    teacher.compile(keras.optimizers.Adam(1e-3), LOSS)
    teacher.fit(x_train, y_train, batch_size=32, epochs=40, verbose=0)
    figure = Figure(figsize=(13, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    soft_target_bars(left, teacher, x_test, y_test)
    curves(right, benchmark, x_train, y_train, x_test, y_test, teacher, 1.0, "-")
    right.set(
        xlabel="epoch",
        ylabel="test accuracy of the student (1 x 16)",
        ylim=(0.3, 1.0),
        title="Digits: the student alone and distilled (T = 4, alpha = 0.1), one seed",
    )
    right.legend(fontsize=8)
    figure.savefig(OUT / "distillation.png", dpi=100)


if __name__ == "__main__":
    main()
