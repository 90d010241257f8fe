"""Size, predict latency and accuracy before/after `compress` on a digits MLP and a digits CNN.

Each model is trained on 70% of scikit-learn's digits (Adam, 20 epochs, seed 0) and compressed
four ways: Keras int8 quantization, 50% magnitude pruning, both, and 80% pruning with int8. The
test 30% is what `predict` is timed on (batch 32, the median of `--repeats` calls, the two models
timed in turns) and what accuracy is measured on. Sizes and accuracy are deterministic; latency
on a loaded, shared machine is noise: rerun it on an idle one before quoting a ratio.

Usage: python benchmarks/compression.py [--repeats N] [--epochs N]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_nnperf.compression import compress  # noqa: E402

SETTINGS = (
    ("int8", 0.0),
    (None, 0.5),
    ("int8", 0.5),
    ("int8", 0.8),
)


def digits():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    split = int(0.7 * len(x))
    return x[order[:split]], y[order[:split]], x[order[split:]], y[order[split:]]


def mlp():
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dense(10, "softmax"),
        ]
    )


def cnn():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(128, "relu"),
            keras.layers.Dense(10, "softmax"),
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = digits()
    print(f"backend {keras.backend.backend()}, load average {os.getloadavg()[0]:.1f}")
    print(
        "\n| model | compression | .keras bytes | deflated bytes | nonzero weights | "
        "predict ms | accuracy |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, build, shape in (("MLP 2x256", mlp, (-1, 64)), ("CNN", cnn, (-1, 8, 8, 1))):
        keras.utils.set_random_seed(0)
        model = build()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train.reshape(shape), y_train, epochs=args.epochs, batch_size=32, verbose=0)
        x = x_test.reshape(shape)
        first = True
        for quantize, prune in SETTINGS:
            _, report = compress(model, x, y_test, quantize, prune, repeats=args.repeats)
            if first:
                b = report.before
                print(
                    f"| {name} | none | {b.file_bytes:,} | {b.deflated_bytes:,} | "
                    f"{b.nonzero_weights:,} | {b.latency_ms:.1f} | {b.metrics['accuracy']:.4f} |"
                )
                first = False
            a = report.after
            what = " + ".join(
                part for part in (f"prune {prune:.0%}" if prune else "", quantize or "") if part
            )
            print(
                f"| {name} | {what} | {a.file_bytes:,} | {a.deflated_bytes:,} | "
                f"{a.nonzero_weights:,} | {a.latency_ms:.1f} "
                f"({a.latency_ms / report.before.latency_ms:.2f}x) | "
                f"{a.metrics['accuracy']:.4f} |"
            )


if __name__ == "__main__":
    main()
