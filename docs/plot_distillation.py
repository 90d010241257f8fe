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
IGNORE_UNLABELED = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
STEPS = 1680  # 60 epochs of the 898-row transfer set


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


def curves(ax, benchmark, x_train, y_train, x_test, y_test, teacher, labeled):
    """Test accuracy per optimizer step: alone on the labeled rows, distilled with the rest."""
    y_transfer = np.full_like(y_train, benchmark.UNLABELED)
    y_transfer[labeled] = y_train[labeled]
    arms = (
        ("alone", "tab:gray", x_train[labeled], y_train[labeled], LOSS),
        ("distilled", "tab:blue", x_train, y_transfer, IGNORE_UNLABELED),
    )
    for label, color, x, y, loss in arms:
        student = benchmark.student_model(0, 16)
        model = student if label == "alone" else Distiller(teacher, student)
        model.compile(keras.optimizers.Adam(1e-3), loss, metrics=["accuracy"])
        steps_per_epoch = -(-len(x) // 32)
        epochs = -(-STEPS // steps_per_epoch)
        keras.utils.set_random_seed(0)
        history = model.fit(
            x, y, batch_size=32, epochs=epochs, validation_data=(x_test, y_test), verbose=0
        )
        name = (
            f"alone: {len(labeled)} labeled rows"
            if label == "alone"
            else f"distilled: the same + {len(x) - len(labeled)} unlabeled rows"
        )
        ax.plot(
            steps_per_epoch * np.arange(1, epochs + 1),
            history.history["val_accuracy"],
            color=color,
            label=name,
        )


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    benchmark = _benchmark()
    x_train, x_test, y_train, y_test = benchmark.split(0)
    labeled = train_test_split(
        np.arange(len(x_train)), train_size=0.1, stratify=y_train, random_state=0
    )[0]
    # The benchmark's honest transfer setting: the teacher saw the students' labels only.
    teacher = benchmark.teacher_model(1000, "cnn", 0.0)
    teacher.compile(keras.optimizers.Adam(1e-3), LOSS)
    benchmark.fit(teacher, x_train[labeled], y_train[labeled], 200, None, None)
    teacher_accuracy = benchmark.accuracy(teacher, x_test, y_test)
    figure = Figure(figsize=(13, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    soft_target_bars(left, teacher, x_test, y_test)
    curves(right, benchmark, x_train, y_train, x_test, y_test, teacher, labeled)
    teacher_label = f"teacher (CNN, the same {len(labeled)} labels)"
    right.axhline(teacher_accuracy, color="tab:green", ls="--", label=teacher_label)
    right.set(
        xlabel="optimizer step (batch 32)",
        ylabel="test accuracy of the student (MLP 1 x 16)",
        ylim=(0.3, 1.0),
        title="Digits, 10% labeled: a transfer set, equal steps (T = 4, alpha = 0.1)",
    )
    right.legend(fontsize=8, loc="lower right")
    figure.savefig(OUT / "distillation.png", dpi=100)


if __name__ == "__main__":
    main()
