"""Draw the results plot of a small HyperMLP search for docs/tuning.md.

Usage: python docs/plot_tuning.py  (writes docs/images/tuning/search_results.png, ~1 minute)
"""

import os
import tempfile

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402

from keras_nnperf.tuning import HyperMLP, search  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "images", "tuning")


def main():
    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    x, y = x[order], y[order].astype("float32")
    template = HyperMLP(num_features=x.shape[1], task="binary", max_layers=4)
    with tempfile.TemporaryDirectory() as directory:
        result = search(
            template,
            x,
            y,
            validation_split=0.3,
            tuner="random",
            max_trials=8,
            epochs=8,
            directory=directory,
            seed=0,
            verbose=0,
        )
        figure = result.plot(max_hyperparameters=6)
    os.makedirs(OUT, exist_ok=True)
    figure.savefig(os.path.join(OUT, "search_results.png"), dpi=100, bbox_inches="tight")
    print(f"best val accuracy {max(r['score'] for r in result.results if r['score'] is not None)}")


if __name__ == "__main__":
    main()
