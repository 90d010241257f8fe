"""Draw the pictures in docs/diagnostics.md and print the example doctor report.

Run from the repository root: `python docs/plot_diagnostics.py` -> docs/images/diagnostics/
(signal_propagation.png, doctor_report.png, doctor_report.txt, baseline_start.png).
"""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from keras_nnperf import get_activation  # noqa: E402
from keras_nnperf.diagnostics.doctor import diagnose  # noqa: E402
from keras_nnperf.diagnostics.signal_propagation import signal_propagation  # noqa: E402
from keras_nnperf.initializers import for_activation, initialize_at_baseline  # noqa: E402

OUT = Path(__file__).parent / "images" / "diagnostics"
DEPTH, WIDTH = 10, 64


def mlp(activation, initializer, depth=DEPTH):
    hidden = [
        keras.layers.Dense(WIDTH, activation, kernel_initializer=initializer) for _ in range(depth)
    ]
    model = keras.Sequential([keras.Input((30,)), *hidden, keras.layers.Dense(1, "sigmoid")])
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    return model


def plot_signal(x, y):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for activation, initializer, label in (
        ("relu", "he_normal", "ReLU + He normal (healthy)"),
        ("relu", "glorot_uniform", "ReLU + Glorot uniform (Keras default)"),
        ("sigmoid", "glorot_uniform", "sigmoid + Glorot uniform (vanishing)"),
    ):
        result = signal_propagation(mlp(activation, initializer), x, y, seed=0)
        result.plot(axes=axes, label=label)
        print(f"{label}: flags={[str(f) for f in result.flags]}")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Signal propagation at init: {DEPTH} hidden Dense({WIDTH}) layers", y=1.02)
    fig.savefig(OUT / "signal_propagation.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def doctor_report(raw_x, y):
    # Four planted mistakes: raw features, six sigmoid hidden layers, a linear output with
    # plain binary crossentropy, and dropout on the output.
    layers = [keras.Input((30,))]
    layers += [keras.layers.Dense(32, "sigmoid") for _ in range(6)]
    layers += [keras.layers.Dense(1), keras.layers.Dropout(0.3)]
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    report = diagnose(model, raw_x, y, lr_finder_steps=50, seed=0)
    text = str(report)
    (OUT / "doctor_report.txt").write_text(text + "\n")
    lines = text.splitlines()
    fig = plt.figure(figsize=(11, 0.19 * len(lines) + 0.4))
    fig.text(0.01, 0.99, text, family="monospace", fontsize=7.5, va="top")
    fig.savefig(OUT / "doctor_report.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(text)


def _standardized(x):
    return ((x - x.mean(0)) / x.std(0)).astype("float32")


def _baseline_tasks():
    cancer_x, cancer_y = load_breast_cancer(return_X_y=True)
    digits_x, digits_y = load_digits(return_X_y=True)
    diabetes_x, diabetes_y = load_diabetes(return_X_y=True)
    return {
        "breast cancer\n(sigmoid, BCE)": (
            _standardized(cancer_x), cancer_y.astype("float32"), 1, "sigmoid",
            "binary_crossentropy",
        ),
        "digits\n(softmax, CE)": (
            (digits_x / 16.0).astype("float32"), digits_y, 10, "softmax",
            "sparse_categorical_crossentropy",
        ),
        "diabetes\n(linear, MSE)": (
            _standardized(diabetes_x), _standardized(diabetes_y[:, None])[:, 0], 1, None, "mse",
        ),
    }  # fmt: skip


def _default_mlp(inputs, units, activation, loss, seed):
    # The recipe's default network (`nnperf fit`): two Dense(64, mish) layers, He-initialized,
    # dropout between them, a Keras-default (Glorot) output layer, Adam.
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(
                64, get_activation("mish"), kernel_initializer=for_activation("mish")
            ),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(
                64, get_activation("mish"), kernel_initializer=for_activation("mish")
            ),
            keras.layers.Dense(units, activation),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss)
    return model


class _StepLosses(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def plot_baseline():
    """Initial loss over the baseline's, with and without `initialize_at_baseline` (3 seeds)."""
    tasks = _baseline_tasks()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.9))
    ratios = {"default network": [], "initialize_at_baseline": []}
    for name, (x, y, units, activation, loss) in tasks.items():
        for label in ratios:
            values = []
            for seed in range(3):
                model = _default_mlp(x.shape[1], units, activation, loss, seed)
                baseline = _baseline_loss(y, units, loss)
                if label == "initialize_at_baseline":
                    initialize_at_baseline(model, y)
                values.append(model.evaluate(x, y, verbose=0) / baseline)
            ratios[label].append(values)
            print(f"{name.splitlines()[0]:<14} {label:<24} ratio {np.round(values, 3)}")
    positions = np.arange(len(tasks))
    for offset, (label, values) in zip((-0.2, 0.2), ratios.items(), strict=True):
        means = [np.mean(v) for v in values]
        bars = left.bar(positions + offset, means, 0.38, label=label)
        for bar, v in zip(bars, values, strict=True):
            left.plot([bar.get_x() + bar.get_width() / 2] * len(v), v, "k.", ms=4)
            left.annotate(f"{np.mean(v):.2f}x", (bar.get_x() + bar.get_width() / 2, np.max(v)),
                          ha="center", va="bottom", fontsize=8)  # fmt: skip
    left.axhline(1.0, color="k", lw=0.8, ls="--")
    left.set_xticks(positions, list(tasks))
    left.set_ylabel("first loss / trivial baseline's loss")
    left.set_title("Where training starts (3 seeds, dots)")
    left.legend(fontsize=8)

    x, y, units, activation, loss = tasks["diabetes\n(linear, MSE)"]
    baseline = _baseline_loss(y, units, loss)
    for label, color in (("default network", "tab:blue"), ("initialize_at_baseline", "tab:orange")):
        model = _default_mlp(x.shape[1], units, activation, loss, 0)
        if label == "initialize_at_baseline":
            initialize_at_baseline(model, y)
        steps = _StepLosses()
        model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[steps], shuffle=True)
        # Keras logs the running mean of the epoch's batch losses: plot each batch's own loss.
        per_batch = _batch_losses(steps.losses, len(x), 32)
        right.plot(np.arange(1, len(per_batch) + 1), per_batch, color=color, label=label)
    right.axhline(baseline, color="k", lw=0.8, ls="--", label="predict the mean (1.0)")
    right.set_yscale("log")
    right.set_xlabel("training step (batch of 32)")
    right.set_ylabel("batch MSE (standardized target)")
    right.set_title("diabetes: the first three epochs")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "baseline_start.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def _baseline_loss(y, units, loss):
    """The loss of the best constant prediction, in NumPy."""
    if loss == "mse":
        return float(np.var(y))
    if units == 1:
        p = float(np.mean(y))
        return -(p * np.log(p) + (1 - p) * np.log(1 - p))
    p = np.bincount(y, minlength=units) / len(y)
    return float(-(p[p > 0] * np.log(p[p > 0])).sum())


def _batch_losses(running_means, samples, batch_size):
    """Each batch's own loss, from Keras's running mean over the epoch."""
    per_epoch = -(-samples // batch_size)
    losses = []
    for start in range(0, len(running_means), per_epoch):
        epoch = running_means[start : start + per_epoch]
        sizes = [min(batch_size, samples - i * batch_size) for i in range(len(epoch))]
        seen = np.cumsum(sizes)
        totals = np.asarray(epoch) * seen
        losses += list(np.diff(np.concatenate([[0.0], totals])) / np.asarray(sizes))
    return losses


def main():
    keras.utils.set_random_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    raw_x, y = load_breast_cancer(return_X_y=True)
    x = ((raw_x - raw_x.mean(0)) / raw_x.std(0)).astype("float32")
    y = y.astype("float32")
    plot_signal(x[:256], y[:256])
    doctor_report(raw_x.astype("float32"), y)
    plot_baseline()


def baseline_only():
    """Only the baseline picture: `python docs/plot_diagnostics.py baseline`."""
    OUT.mkdir(parents=True, exist_ok=True)
    plot_baseline()


if __name__ == "__main__":
    import sys

    baseline_only() if sys.argv[1:] == ["baseline"] else main()
