"""Draw the picture of docs/batch_size.md into docs/images/batch_size/.

A linear regression has per-example gradients in closed form, so its gradient noise scale
`B_simple = tr(Sigma) / |G|^2` is known exactly at any weights. The picture puts the
`GradientNoiseScale` callback's running estimate (read every window) and `measure_noise_scale`
next to it: left at fixed weights (learning rate 0), right while SGD trains the model and the
noise scale grows as the gradient shrinks.

Usage: python docs/plot_noise_scale.py   (about a minute on two CPU cores; no downloads)
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from keras_nnperf.diagnostics.noise_scale import (  # noqa: E402
    GradientNoiseScale,
    measure_noise_scale,
)

OUT = Path(__file__).parent / "images" / "batch_size"
N, D, BATCH, WINDOW = 16384, 8, 32, 8


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype("float32")
    y = (x @ rng.normal(size=D) + rng.normal(size=N)).astype("float32")
    return x, y


def analytic(model, x, y) -> float:
    """`tr(Sigma) / |G|^2` from the per-example MSE gradients `2 (x.w - y) x`."""
    w = np.asarray(model.layers[0].kernel, "float64")[:, 0]
    per_example = 2.0 * (x @ w - y)[:, None] * x
    mean = per_example.mean(0)
    return float(np.trace(np.cov(per_example.T, bias=True)) / (mean @ mean))


class Trace(keras.callbacks.Callback):
    """Every window: the step, the callback's estimate, and the exact value at those weights."""

    def __init__(self, noise, x, y):
        super().__init__()
        self.noise, self.x, self.y = noise, x, y
        self.rows = []

    def on_train_batch_end(self, batch, logs=None):
        step = int(np.asarray(self.model.optimizer.iterations))
        if step % WINDOW == 0:
            estimate = self.noise.estimates()["noise_scale"]
            self.rows.append((step, estimate, analytic(self.model, self.x, self.y)))


def run(learning_rate, epochs, decay):
    x, y = data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(learning_rate), "mse")
    noise = GradientNoiseScale(batch_size=BATCH, window=WINDOW, decay=decay)
    trace = Trace(noise, x, y)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, callbacks=[noise, trace], verbose=0)
    standalone = measure_noise_scale(model, x, y, small=BATCH, big=8 * BATCH, steps=32)
    return np.array(trace.rows), standalone.noise_scale


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(10, 3.8))
    panels = figure.subplots(1, 2)
    for ax, (title, learning_rate, epochs) in zip(
        panels,
        (
            ("fixed weights (learning rate 0)", 0.0, 1),
            ("during training (SGD, learning rate 2e-3)", 2e-3, 2),
        ),
        strict=True,
    ):
        decays = (0.9,) if learning_rate == 0 else (0.9, 0.5)
        for decay, color in zip(decays, ("tab:blue", "tab:green"), strict=False):
            rows, standalone = run(learning_rate, epochs, decay)
            if color == "tab:blue":
                ax.plot(rows[:, 0], rows[:, 2], color="black", lw=2, label="exact tr(Σ)/|G|²")
            ax.plot(rows[:, 0], rows[:, 1], color=color, label=f"GradientNoiseScale, decay={decay}")
        ax.axhline(
            standalone,
            color="tab:orange",
            ls="--",
            label=f"measure_noise_scale at the end: {standalone:.3g}",
        )
        ax.axhline(BATCH, color="gray", ls=":", lw=1, label=f"batch size {BATCH}")
        ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("noise scale B_simple (examples)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    figure.suptitle(
        "Gradient noise scale of a linear regression: estimate against the exact value", fontsize=11
    )
    figure.tight_layout()
    figure.savefig(OUT / "noise_scale.png", dpi=120)
    print(f"wrote {OUT / 'noise_scale.png'}")


if __name__ == "__main__":
    main()
