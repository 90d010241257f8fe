"""Draw the pictures in docs/initializers.md: signal through a 50-layer Dense(256) stack at init.

Run from the repository root: `python docs/plot_initializers.py` -> docs/images/initializers/.
"""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from keras_nnperf.initializers import for_activation  # noqa: E402

DEPTH, WIDTH, BATCH = 50, 256, 512
OUT = Path(__file__).parent / "images" / "initializers"


def forward(activation, make_initializer):
    function = keras.activations.get(activation)
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(0).standard_normal((BATCH, WIDTH)).astype("float32")
    )
    outputs = []
    for _ in range(DEPTH):
        x = function(keras.ops.matmul(x, make_initializer()((WIDTH, WIDTH))))
        outputs.append(keras.ops.convert_to_numpy(x).astype("float64"))
    return outputs


def main():
    keras.utils.set_random_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    layers = np.arange(1, DEPTH + 1)

    def unit_normal():
        return keras.initializers.RandomNormal(stddev=1.0)

    runs = {
        "relu + He (for_activation)": ("relu", lambda: for_activation("relu")),
        "selu + LeCun (for_activation)": ("selu", lambda: for_activation("selu")),
        "tanh + Glorot (for_activation)": ("tanh", lambda: for_activation("tanh")),
        "relu + Glorot (Keras default)": ("relu", keras.initializers.GlorotUniform),
        "relu + N(0, 1)": ("relu", unit_normal),
    }
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, (activation, make) in runs.items():
        with np.errstate(over="ignore", invalid="ignore"):
            stds = np.array([np.std(a) for a in forward(activation, make)])
        stds[~np.isfinite(stds)] = np.nan  # overflowed to inf: stop the line there
        ax.semilogy(layers, stds, label=label)
    ax.axhspan(0.25, 4, color="green", alpha=0.08, label="[0.25, 4]")
    ax.set(xlabel="layer", ylabel="std of activations", title="50 x Dense(256) at init")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "activation_std_per_layer.png", dpi=110)

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for label, make in [
        ("Glorot (for_activation)", lambda: for_activation("tanh")),
        ("N(0, 1)", unit_normal),
    ]:
        saturated = [np.mean(np.abs(a) > 0.99) for a in forward("tanh", make)]
        ax.plot(layers, saturated, label=label)
    ax.set(
        xlabel="layer",
        ylabel="fraction |tanh| > 0.99",
        title="tanh saturation at init",
        ylim=(0, 1),
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "tanh_saturation_per_layer.png", dpi=110)
    print(f"wrote {sorted(p.name for p in OUT.glob('*.png'))} to {OUT}")


if __name__ == "__main__":
    main()
