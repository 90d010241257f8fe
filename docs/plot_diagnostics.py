"""Draw the pictures in docs/diagnostics.md and print the example doctor report.

Run from the repository root: `python docs/plot_diagnostics.py` -> docs/images/diagnostics/
(signal_propagation.png, doctor_report.png, doctor_report.txt).
"""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from keras_nnperf.diagnostics.doctor import diagnose  # noqa: E402
from keras_nnperf.diagnostics.signal_propagation import signal_propagation  # noqa: E402

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


def main():
    keras.utils.set_random_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    raw_x, y = load_breast_cancer(return_X_y=True)
    x = ((raw_x - raw_x.mean(0)) / raw_x.std(0)).astype("float32")
    y = y.astype("float32")
    plot_signal(x[:256], y[:256])
    doctor_report(raw_x.astype("float32"), y)


if __name__ == "__main__":
    main()
