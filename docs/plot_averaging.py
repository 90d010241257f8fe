"""Draw the pictures of docs/averaging.md into docs/images/averaging/.

Usage: python docs/plot_averaging.py   (about a minute on two CPU cores; no downloads)
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_nnperf.callbacks.ema import EMA  # noqa: E402
from keras_nnperf.callbacks.swa import SWA  # noqa: E402
from keras_nnperf.optimizers.lookahead import Lookahead  # noqa: E402

OUT = Path(__file__).parent / "images" / "averaging"
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
XLIM, YLIM = (0.45, 1.55), (0.0, 2.0)  # the end of the run; it starts at (-1, -1.5)


class Trace(keras.callbacks.Callback):
    """Record the weights (and Lookahead's slow weights) after every batch (a picture only)."""

    def __init__(self):
        super().__init__()
        self.fast, self.slow = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.fast.append(keras.ops.convert_to_numpy(self.model.trainable_weights[0]).ravel())
        slow = getattr(self.model.optimizer, "slow_weights", None)
        if slow:
            self.slow.append(keras.ops.convert_to_numpy(slow[0]).ravel())


def quadratic_data(seed=0):
    """Targets `x @ (1, 1)` plus noise, `x` anisotropic: an elongated bowl around (1, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(512, 2)) * np.array([1.0, 0.25])
    y = x @ np.array([1.0, 1.0]) + 0.5 * rng.normal(size=512)
    return x.astype("float32"), y.astype("float32")[:, None]


def two_weight_model(optimizer):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.layers[0].kernel.assign(np.array([[-1.0], [-1.5]], "float32"))
    model.compile(optimizer, "mse")
    return model


def bowl(ax, x, y):
    w1, w2 = np.meshgrid(np.linspace(*XLIM, 120), np.linspace(*YLIM, 120))
    grid = np.stack([w1.ravel(), w2.ravel()], axis=1)
    loss = np.mean((x @ grid.T - y) ** 2, axis=0).reshape(w1.shape)
    ax.contour(w1, w2, loss, levels=np.quantile(loss, np.linspace(0.01, 0.95, 12)), colors="0.8")
    best = np.linalg.lstsq(x, y, rcond=None)[0].ravel()
    star = {"color": "gold", "markeredgecolor": "black", "markersize": 16, "zorder": 6}
    ax.plot(*best, "*", label="minimum", **star)


def trajectories(ax):
    x, y = quadratic_data()
    bowl(ax, x, y)
    plain = two_weight_model(keras.optimizers.SGD(0.3))
    trace, ema = Trace(), EMA(momentum=0.95, start_epoch=2)
    swa = SWA(start_epoch=2)
    plain.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0, callbacks=[trace, ema, swa])
    fast = np.array(trace.fast)
    ax.plot(fast[:, 0], fast[:, 1], ".", color="tab:gray", markersize=3, alpha=0.6)
    ax.plot([], [], ".", color="tab:gray", label="SGD(0.3), batch 8: weights per step")
    marker = {"markersize": 10, "markeredgecolor": "black", "linestyle": "none", "zorder": 5}
    average = ema.average_weights[0].ravel()
    ax.plot(*average, "o", color="tab:blue", label="EMA(0.95) at the end", **marker)
    ax.plot(
        *keras.ops.convert_to_numpy(plain.trainable_weights[0]).ravel(),
        "s",
        color="tab:red",
        label=f"SWA of {swa.averaged_models} epoch ends",
        **marker,
    )
    lookahead = two_weight_model(Lookahead(keras.optimizers.SGD(0.3), sync_period=5))
    trace = Trace()
    lookahead.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0, callbacks=[trace])
    slow = np.array(trace.slow)[4::5]
    ax.plot(slow[:, 0], slow[:, 1], "-", color="tab:green", linewidth=0.8, alpha=0.6, zorder=1)
    ax.plot([], [], "-", color="tab:green", label="Lookahead(SGD(0.3), k=5): slow weights")
    ax.set(
        xlim=XLIM,
        ylim=YLIM,
        xlabel="weight 1",
        ylabel="weight 2",
        title="A noisy bowl: averages sit nearer the minimum than the iterates",
    )
    ax.legend(loc="lower left", fontsize=8)


def digits_split():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)


def mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dense(10),
        ]
    )


def digits_curves(ax, epochs=30):
    x_train, x_val, y_train, y_val = digits_split()
    runs = {
        "SGD(0.1, momentum 0.9), batch 16": (keras.optimizers.SGD(0.1, momentum=0.9), []),
        "the same, validated with EMA(0.99) weights": (
            keras.optimizers.SGD(0.1, momentum=0.9),
            [EMA(momentum=0.99)],
        ),
        "Lookahead of the same (k=6, alpha=0.5)": (
            Lookahead(keras.optimizers.SGD(0.1, momentum=0.9)),
            [],
        ),
    }
    colors = ["tab:gray", "tab:blue", "tab:green"]
    for (label, (optimizer, callbacks)), color in zip(runs.items(), colors, strict=True):
        model = mlp()
        model.compile(optimizer, LOSS)
        history = model.fit(
            x_train,
            y_train,
            batch_size=16,
            epochs=epochs,
            validation_data=(x_val, y_val),
            callbacks=callbacks,
            verbose=0,
        )
        ax.plot(range(1, epochs + 1), history.history["val_loss"], color=color, label=label)
    model = mlp()
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), LOSS)
    model.fit(
        x_train,
        y_train,
        batch_size=16,
        epochs=epochs,
        callbacks=[SWA(start_epoch=epochs // 2)],
        verbose=0,
    )
    swa_loss = model.evaluate(x_val, y_val, verbose=0)
    ax.plot([epochs], [swa_loss], "s", color="tab:red", label=f"SWA from epoch {epochs // 2 + 1}")
    ax.set(
        xlabel="epoch",
        ylabel="validation loss",
        yscale="log",
        title="Digits MLP 2 x 256: validation loss at equal epochs (one seed)",
    )
    ax.legend(fontsize=8)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(13, 5.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    trajectories(left)
    digits_curves(right)
    figure.savefig(OUT / "averaging.png", dpi=100)


if __name__ == "__main__":
    main()
