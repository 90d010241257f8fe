"""Draw the pictures of docs/transfer.md into docs/images/transfer_*.png.

* `transfer_rates.png`: the rate each layer group was trained at, step by step, read from the
  optimizer during `fit` (its learning rate times the group's multiplier variable), under
  `GradualUnfreezing` with ULMFiT multipliers and `OneCycle`.
* `transfer_digits.png`: validation accuracy per epoch on the digits transfer (0-4 -> 5-9, 20
  labels per class) and with autoencoder pretraining (10 classes, 20 labels per class), one
  seed, from `benchmarks/transfer.py`.

Usage: python docs/plot_transfer.py [--skip-digits] [--curves curves.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from keras_nnperf.callbacks.one_cycle import OneCycle  # noqa: E402
from keras_nnperf.transfer import GradualUnfreezing, reuse, ulmfit_multipliers  # noqa: E402

ROOT = Path(__file__).parent
OUT = ROOT / "images"
sys.path.insert(0, str(ROOT.parent / "benchmarks"))
import transfer as bench  # noqa: E402


class GroupRates(keras.callbacks.Callback):
    """Before every step, the rate each group is trained at (NaN while frozen)."""

    def __init__(self, unfreezing):
        super().__init__()
        self.unfreezing = unfreezing
        self.rows = []

    def on_train_batch_begin(self, batch, logs=None):
        # Before the step: `learning_rate` is the schedule at this step's `iterations`.
        optimizer = self.model.optimizer
        step = int(keras.ops.convert_to_numpy(optimizer.iterations))
        rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        multipliers = [
            float(keras.ops.convert_to_numpy(v)) for v in self.unfreezing.rates.variables
        ]
        frozen = set(self.unfreezing.rates.frozen)
        groups = [np.nan if i in frozen else rate * m for i, m in enumerate(multipliers)]
        self.rows.append((step, *groups, rate))


def plot_rates():
    x, y = bench.digits()
    pretrained = bench.compile_model(bench.cnn(5, 0))
    pretrained.fit(x[y < 5], y[y < 5], epochs=1, verbose=0)
    model = bench.compile_model(reuse(pretrained, 5))
    groups = [["conv1"], ["conv2"], ["dense"]]
    unfreezing = GradualUnfreezing(groups, epochs_per_group=1, multipliers=ulmfit_multipliers(3))
    recorder = GroupRates(unfreezing)
    target = y >= 5
    model.fit(
        x[target][:320],
        y[target][:320] - 5,
        batch_size=32,
        epochs=6,
        verbose=0,
        callbacks=[OneCycle(max_lr=3e-3), unfreezing, recorder],
    )
    rows = np.array(recorder.rows)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = ["conv1 (bottom)", "conv2", "dense (top of base)", "head"]
    for column, label in enumerate(labels, start=1):
        ax.plot(rows[:, 0], rows[:, column], label=label, linewidth=2)
    for epoch in range(1, 4):
        ax.axvline(epoch * 10 - 0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1e-2)
    ax.set_xlabel("optimizer step (10 steps per epoch)")
    ax.set_ylabel("rate applied to the group")
    ax.set_title(
        "GradualUnfreezing (a group per epoch, ULMFiT rates: / 2.6 per group) + OneCycle",
        fontsize=11,
    )
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(OUT / "transfer_rates.png", dpi=110)
    plt.close(fig)


def plot_digits(curves_path=None):
    if curves_path:  # seed 0 as `benchmarks/transfer.py --save-curves` saved it
        with open(curves_path) as file:
            saved = json.load(file)
        transfer, pretraining = saved["transfer"], saved["pretraining"]
    else:
        warnings.filterwarnings("ignore", message="lr_find could not trust")
        transfer = bench.transfer_run(0, epochs=10, labels=20, pretrain_epochs=10)
        pretraining = bench.pretraining_run(0, epochs=10, labels=20, ae_epochs=15)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, curves, title in (
        (axes[0], transfer, "transfer 0-4 -> 5-9, 20 labels per class"),
        (axes[1], pretraining, "autoencoder pretraining, 20 labels per class"),
    ):
        for method, history in curves.items():
            values = history["val_accuracy"]
            ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=method)
        ax.set_title(title)
        ax.set_ylim(0.0, 1.0)  # leaves the legend room below the curves
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel("validation accuracy")
    fig.suptitle("digits (scikit-learn), one seed; the table over seeds is in docs/transfer.md")
    fig.tight_layout()
    fig.savefig(OUT / "transfer_digits.png", dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--curves", default=None, help="seed 0's curves saved by the benchmark")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    plot_rates()
    if not args.skip_digits:
        plot_digits(args.curves)


if __name__ == "__main__":
    main()
