"""Draw the pictures of docs/layers.md from the real implementations.

Usage: python docs/plot_activations.py  (writes docs/images/layers/*.png)
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_nnperf import activations, random_hash  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images", "layers")


def value_and_grad(fn, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def plot_curves(path):
    x = np.linspace(-4, 3, 701).astype("float32")
    curves = {
        "ReLU": lambda v: tf.nn.relu(v),
        "PReLU (alpha=0.25)": lambda v: activations.prelu(v, 0.25),
        "RReLU (inference)": lambda v: activations.rrelu(v),
        "Mish": activations.mish,
        "PSwish (beta=1, SiLU)": lambda v: activations.pswish(v, 1.0),
        "PSwish (beta=4)": lambda v: activations.pswish(v, 4.0),
        "PELU (a=1, b=1, ELU)": lambda v: activations.pelu(v, 1.0, 1.0),
        "PELU (a=2, b=2)": lambda v: activations.pelu(v, 2.0, 2.0),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, fn in curves.items():
        y, dy = value_and_grad(fn, x)
        left.plot(x, y, label=label)
        right.plot(x, dy, label=label)
    lower, upper = 1 / 8, 1 / 3
    left.fill_between(
        x,
        np.where(x < 0, upper * x, x),
        np.where(x < 0, lower * x, x),
        alpha=0.2,
        color="gray",
        label="RReLU training range",
    )
    left.set(title="f(x)", xlabel="x", ylim=(-2.2, 3))
    right.set(title="f'(x)", xlabel="x", ylim=(-0.3, 1.6))
    for axis in (left, right):
        axis.axhline(0, color="black", linewidth=0.5)
        axis.axvline(0, color="black", linewidth=0.5)
        axis.grid(alpha=0.3)
    left.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_rrelu_slopes(path):
    u = random_hash.hash_uniform((200_000,), seed=0).numpy()
    slopes = 1 / 8 + (1 / 3 - 1 / 8) * u
    fig, axis = plt.subplots(figsize=(5.5, 3.2))
    axis.hist(slopes, bins=50, density=True, alpha=0.8)
    axis.axhline(1 / (1 / 3 - 1 / 8), color="black", linestyle="--", label="U(1/8, 1/3) density")
    axis.set(title="RReLU slopes from the counter hash", xlabel="negative slope", ylabel="density")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    os.makedirs(OUT, exist_ok=True)
    plot_curves(os.path.join(OUT, "activations.png"))
    plot_rrelu_slopes(os.path.join(OUT, "rrelu_slopes.png"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
