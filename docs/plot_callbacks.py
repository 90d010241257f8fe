"""Draw the pictures of docs/callbacks.md into docs/images/callbacks/.

Usage: python docs/plot_callbacks.py
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_nnperf.callbacks._recording import AppliedHyperparameters  # noqa: E402
from keras_nnperf.callbacks.lr_finder import lr_find  # noqa: E402
from keras_nnperf.callbacks.one_cycle import OneCycle  # noqa: E402

OUT = Path(__file__).parent / "images" / "callbacks"


def mlp():
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    model = mlp()
    result = lr_find(model, x, y, batch_size=32, num_steps=100)
    figure = result.plot()
    figure.axes[0].set_title("lr_find on digits (MLP 2x256, Adam, batch 32)")
    figure.tight_layout()
    figure.savefig(OUT / "lr_find.png", dpi=100)
    plt.close(figure)

    epochs, steps = 5, -(-len(x) // 32)
    recorder = AppliedHyperparameters(epochs * steps)
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[OneCycle(), recorder])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    top.plot(recorder.learning_rates, color="C0")
    top.set_ylabel("learning rate")
    top.set_title(f"OneCycle as applied by Adam (max_lr from lr_find: {result.suggestion:.2e})")
    bottom.plot(recorder.momenta, color="C1")
    bottom.set_ylabel("beta_1")
    bottom.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(OUT / "one_cycle_applied.png", dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
