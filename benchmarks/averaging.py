"""Weight averaging on digits at equal epochs: plain SGD against EMA, SWA and Lookahead.

Scikit-learn's digits scaled to [0, 1], a stratified 30% test split per seed, an MLP 2 x 256
(ReLU), SGD(`--lr`, momentum 0.9), batch 16, `--epochs` epochs. Per seed, from the same initial
weights and the same data order:

* `plain`: the weights at the end;
* `ema`: the same run with `EMA(momentum=0.99)`, scored with the averaged weights;
* `swa`: the same run with `SWA(start_epoch=0.75 * epochs)` at the optimizer's own rate;
* `lookahead`: `Lookahead(SGD(...), sync_period=6, slow_step_size=0.5)`.

Prints the test loss and accuracy per seed and the mean, min and max over seeds.

Usage: python benchmarks/averaging.py [--seeds 5] [--epochs 30] [--lr 0.1]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_nnperf.callbacks.ema import EMA  # noqa: E402
from keras_nnperf.callbacks.swa import SWA  # noqa: E402
from keras_nnperf.optimizers.lookahead import Lookahead  # noqa: E402

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
METHODS = ("plain", "ema", "swa", "lookahead")


def mlp(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dense(256, "relu"),
            keras.layers.Dense(10),
        ]
    )


def run(seed: int, method: str, args) -> tuple[float, float]:
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=seed
    )
    model = mlp(seed)
    optimizer = keras.optimizers.SGD(args.lr, momentum=0.9)
    callbacks = []
    if method == "lookahead":
        optimizer = Lookahead(optimizer, sync_period=6, slow_step_size=0.5)
    elif method == "ema":
        callbacks = [EMA(momentum=0.99, final_weights="average")]
    elif method == "swa":
        callbacks = [SWA(start_epoch=int(0.75 * args.epochs))]
    model.compile(optimizer, LOSS, metrics=["accuracy"])
    keras.utils.set_random_seed(seed)
    model.fit(x_train, y_train, batch_size=16, epochs=args.epochs, callbacks=callbacks, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return loss, accuracy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(argv)
    print(f"backend {keras.backend.backend()}, {args.epochs} epochs, SGD({args.lr}, 0.9)")
    results = {method: [] for method in METHODS}
    for seed in range(args.seeds):
        cells = []
        for method in METHODS:
            loss, accuracy = run(seed, method, args)
            results[method].append((loss, accuracy))
            cells.append(f"{method} {loss:.4f} / {accuracy:.4f}")
        print(f"seed {seed}: " + "   ".join(cells))
    print("test loss / accuracy over seeds (mean, min, max):")
    for method in METHODS:
        values = np.array(results[method])
        loss, accuracy = values[:, 0], values[:, 1]
        print(
            f"{method:>10}: loss {loss.mean():.4f} ({loss.min():.4f}-{loss.max():.4f})   "
            f"accuracy {accuracy.mean():.4f} ({accuracy.min():.4f}-{accuracy.max():.4f})"
        )


if __name__ == "__main__":
    main()
