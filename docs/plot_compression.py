"""Draw the picture of docs/compression.md into docs/images/compression.png.

Accuracy and saved size against the fraction of kernel weights pruned, with and without Keras's
int8 quantization, for the digits MLP and CNN of `benchmarks/compression.py` (trained as there:
Adam, 20 epochs, seed 0, on 70% of digits; measured on the other 30%). Every point is one
`compress(...)` call; the latency it also measures is not drawn.

Usage: python docs/plot_compression.py   (a few minutes on two CPU cores; no downloads)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from keras_nnperf.compression import compress  # noqa: E402

OUT = Path(__file__).parent / "images" / "compression.png"
SPARSITIES = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
# float32 drawn wide and int8 thin on top of it: where int8 costs no accuracy the two coincide.
STYLES = {None: ("float32", "tab:gray", 5.0), "int8": ("int8", "tab:blue", 1.5)}


def _benchmark():
    # The benchmark's data and models, so the picture shows the measured setting.
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    import compression as benchmark

    return benchmark


def sweep(model, x, y) -> dict:
    """`{(quantize, sparsity): ModelFootprint}` over `SPARSITIES`, with and without int8."""
    footprints = {}
    for quantize in STYLES:
        for sparsity in SPARSITIES:
            if quantize is None and sparsity == 0.0:
                continue  # nothing to do: every report's "before"
            _, report = compress(model, x, y, quantize=quantize, prune=sparsity, repeats=1)
            footprints[quantize, sparsity] = report.after
            footprints[None, 0.0] = report.before
    return footprints


def draw(accuracy_ax, size_ax, name, footprints) -> None:
    for quantize, (label, color, width) in STYLES.items():
        points = [footprints[quantize, s] for s in SPARSITIES]
        accuracy_ax.plot(
            SPARSITIES,
            [p.metrics["accuracy"] for p in points],
            "o-",
            color=color,
            lw=width,
            label=label,
        )
        for sparsity, p in zip(SPARSITIES, points, strict=True):
            print(
                f"{name:>32} {label:>7} prune {sparsity:.2f}: accuracy "
                f"{p.metrics['accuracy']:.4f}, file {p.file_bytes:,}, deflated "
                f"{p.deflated_bytes:,}"
            )
        size_ax.plot(
            SPARSITIES,
            [p.file_bytes / 1e3 for p in points],
            "s--",
            color=color,
            label=f"{label}: .keras file",
        )
        size_ax.plot(
            SPARSITIES,
            [p.deflated_bytes / 1e3 for p in points],
            "o-",
            color=color,
            label=f"{label}: deflated (zip)",
        )
    accuracy_ax.set(
        ylabel="test accuracy",
        ylim=(0.0, 1.02),
        title=f"{name}: accuracy after one-shot pruning",
    )
    top = max(p.file_bytes for p in footprints.values()) / 1e3
    size_ax.set(ylabel="size (kB)", ylim=(0, 1.35 * top), title=f"{name}: saved size")
    accuracy_ax.legend(loc="lower left")
    size_ax.legend(loc="upper center", fontsize=8, ncols=2)


def main():
    benchmark = _benchmark()
    x_train, y_train, x_test, y_test = benchmark.digits()
    figure = Figure(figsize=(12, 8), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True)
    for row, (name, build, shape) in zip(
        axes,
        (
            ("MLP 2 x 256", benchmark.mlp, (-1, 64)),
            ("CNN (convolutions stay float32)", benchmark.cnn, (-1, 8, 8, 1)),
        ),
        strict=True,
    ):
        keras.utils.set_random_seed(0)
        model = build()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train.reshape(shape), y_train, epochs=20, batch_size=32, verbose=0)
        draw(*row, name, sweep(model, x_test.reshape(shape), y_test))
    for ax in axes[1]:
        ax.set_xlabel("fraction of kernel weights pruned (magnitude, per layer)")
    figure.suptitle(
        f"compress() on digits, {keras.backend.backend()} backend: int8 shrinks the file, "
        "pruning only the deflated size"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(OUT, dpi=90)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
