"""Draw the pictures of docs/monitoring.md into docs/images/monitoring/.

Usage: python docs/plot_monitoring.py   (about a minute on two CPU cores; no downloads)
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_nnperf.callbacks.activation_monitor import ActivationMonitor  # noqa: E402
from keras_nnperf.callbacks.alerts import TrainingAlert  # noqa: E402
from keras_nnperf.callbacks.gradient_monitor import GradientMonitor  # noqa: E402

OUT = Path(__file__).parent / "images" / "monitoring"
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def digits():
    x, y = load_digits(return_X_y=True)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return x.astype("float32"), y


def mlp(depth, activation, init, width=64, bias=0.0):
    hidden = [
        keras.layers.Dense(
            width,
            activation,
            kernel_initializer=init,
            bias_initializer=keras.initializers.Constant(bias),
            name=f"hidden_{i:02d}",
        )
        for i in range(depth)
    ]
    return keras.Sequential([keras.Input((64,)), *hidden, keras.layers.Dense(10, name="output")])


def fit(model, callbacks, epochs, lr=0.01, optimizer=None):
    x, y = digits()
    model.compile(optimizer or keras.optimizers.SGD(lr, momentum=0.9), LOSS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingAlert)
        model.fit(x, y, batch_size=64, epochs=epochs, verbose=0, callbacks=callbacks)


def gradient_heatmaps():
    """Vanishing gradients (sigmoid, N(0, 1)) next to healthy ones (ReLU, He normal)."""
    figure = Figure(figsize=(10, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    for ax, activation, init, title in (
        (left, "sigmoid", keras.initializers.RandomNormal(0.0, 1.0), "sigmoid, N(0, 1) init"),
        (right, "relu", "he_normal", "ReLU, He normal init"),
    ):
        keras.utils.set_random_seed(0)
        monitor = GradientMonitor()
        fit(mlp(20, activation, init), [monitor], epochs=8)
        monitor.plot(ax=ax)
        ax.set_title(f"log10 gradient norm: {title}", fontsize=9)
    # One colour scale for both panels, so equal colours mean equal norms.
    images = [ax.images[0] for ax in (left, right)]
    low = min(float(np.nanmin(image.get_array())) for image in images)
    high = max(float(np.nanmax(image.get_array())) for image in images)
    for image in images:
        image.set_clim(low, high)
    figure.savefig(OUT / "gradient_norms.png", dpi=110)


def colorful_dimension():
    """Activation histograms over epochs of a healthy ReLU net and a saturating sigmoid net."""
    x, _ = digits()
    for name, activation, init in (
        ("colorful_dimension_relu.png", "relu", "he_normal"),
        ("colorful_dimension_sigmoid.png", "sigmoid", keras.initializers.RandomNormal(0.0, 1.0)),
    ):
        keras.utils.set_random_seed(0)
        monitor = ActivationMonitor(x[:512], bins=40)
        fit(mlp(4, activation, init), [monitor], epochs=12)
        monitor.plot(layers=[f"hidden_{i:02d}" for i in range(4)]).savefig(OUT / name, dpi=110)


def dead_units():
    """Dead-unit fraction per layer over epochs: negative starting biases vs a healthy start."""
    x, _ = digits()
    figure = Figure(figsize=(8, 3.2), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    configs = (
        ("ReLU, biases start at -2, lr 0.05", "glorot_uniform", -2.0, 0.05),
        ("ReLU, He init, zero biases, lr 0.01", "he_normal", 0.0, 0.01),
    )
    for ax, (title, init, bias, lr) in zip(axes, configs, strict=True):
        keras.utils.set_random_seed(0)
        monitor = ActivationMonitor(x[:512])
        fit(mlp(4, "relu", init, bias=bias), [monitor], epochs=10, lr=lr)
        for i in range(4):
            ax.plot(monitor.history[f"dead_fraction/hidden_{i:02d}"], label=f"hidden_{i:02d}")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axes[0].set_ylabel("fraction of dead units")
    axes[0].legend(fontsize=7)
    figure.savefig(OUT / "dead_units.png", dpi=110)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    gradient_heatmaps()
    colorful_dimension()
    dead_units()
    print("wrote", sorted(p.name for p in OUT.glob("*.png")))


if __name__ == "__main__":
    main()
