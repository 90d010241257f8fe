"""Draw the pictures of docs/report.md into docs/images/report_*.png.

Each table (scikit-learn's breast cancer, digits and diabetes, written as CSV files into a
temporary folder) goes through what `nnperf fit` does: load, LR range test, warm-up + 1Cycle,
then `keras_nnperf.recipe.figures.add_figures` into a report folder; a few of its pictures are
copied here.

Usage: python docs/plot_report.py   (about a minute on two CPU cores; no downloads)
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from sklearn import datasets  # noqa: E402

from keras_nnperf.recipe.figures import add_figures  # noqa: E402
from keras_nnperf.recipe.model import build_model  # noqa: E402
from keras_nnperf.recipe.training import (  # noqa: E402
    choose_learning_rate,
    effective_batch_size,
    train_with_recipe,
)
from keras_nnperf.report import Report  # noqa: E402
from keras_nnperf.tabular import load_training_data  # noqa: E402

OUT = Path(__file__).parent / "images"
#: table -> {picture the report drew: name under docs/images/}
PICTURES = {
    "breast_cancer": {"roc_pr": "report_roc_pr", "activations": "report_activations"},
    "digits": {
        "confusion_matrix": "report_confusion_matrix",
        "roc_pr": "report_roc_pr_multiclass",
    },
    "diabetes": {
        "predicted_vs_true": "report_predicted_vs_true",
        "training_curves": "report_training_curves",
        "gradient_norms": "report_gradient_norms",
    },
}


def write_csv(name: str, folder: str) -> str:
    """One of scikit-learn's bundled tables as a CSV file, class names as labels."""
    loader = getattr(datasets, f"load_{name}")
    bunch = loader(as_frame=True)
    frame = bunch.frame
    if name == "digits":  # digits 0-9 as words: a label, not a number to regress on
        frame["target"] = [f"digit {i}" for i in bunch.target]
    elif name != "diabetes":
        frame["target"] = [bunch.target_names[i] for i in bunch.target]
    path = os.path.join(folder, f"{name}.csv")
    frame.to_csv(path, index=False)
    return path


def report_on(name: str, folder: str) -> str:
    """The recipe of `nnperf fit` on one table; returns its report folder."""
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant pixel columns left out, said once per column
        data = load_training_data(write_csv(name, folder), "target")
        pre = data.preprocessor
        model = build_model(pre.num_features, pre.task, pre.num_classes, 0, data.y_train)
        batch_size = effective_batch_size(None, len(data.y_train))
        choice = choose_learning_rate(model, data, batch_size, None, 100)
        run = train_with_recipe(model, data, 30, batch_size, choice.rate, verbose=0)
    out = os.path.join(folder, name)
    report = Report(out, f"{name} report")
    add_figures(report, model, data, choice, run, None)
    report.write()
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, pictures in PICTURES.items():
            out = report_on(name, folder)
            for drawn, kept in pictures.items():
                shutil.copy(os.path.join(out, f"{drawn}.png"), OUT / f"{kept}.png")
                print(f"wrote docs/images/{kept}.png")


if __name__ == "__main__":
    main()
