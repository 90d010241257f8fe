"""Predicting a CSV file with a folder written by `nnperf fit`, and the demo's data file."""

from __future__ import annotations

import os

import keras

from keras_nnperf.tabular import DataError, TabularPreprocessor, read_csv

MODEL_FILE = "model.keras"
PREPROCESSING_FILE = "preprocessing.json"


def predict_csv(model_dir: str, path: str) -> dict:
    """Predict every row of the CSV `path` with the model and preprocessing in `model_dir`.

    Returns:
        Columns as `TabularPreprocessor.decode` gives them.

    Raises:
        DataError: for a folder without a model, or data that does not match it.
    """
    model_path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(model_path):
        raise DataError(f"{model_dir} has no {MODEL_FILE}; train one with: nnperf fit --out DIR")
    pre = TabularPreprocessor.load(os.path.join(model_dir, PREPROCESSING_FILE))
    x = pre.transform(read_csv(path))
    try:
        model = keras.models.load_model(model_path)
    except (ValueError, OSError) as err:
        raise DataError(f"cannot load {model_path}: {err}") from None
    return pre.decode(model.predict(x, batch_size=256, verbose=0))


def write_demo_csv(path: str) -> str:
    """Write scikit-learn's breast-cancer data (569 rows, 30 features, `target`) to `path`.

    Raises:
        DataError: if scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError:
        raise DataError(
            "nnperf demo reads scikit-learn's bundled breast-cancer data: "
            "pip install scikit-learn (or run nnperf fit on your own CSV)"
        ) from None
    import csv

    bunch = load_breast_cancer()
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*bunch.feature_names, "target"])
        for row, label in zip(bunch.data, bunch.target, strict=True):
            writer.writerow([*(f"{v:.6g}" for v in row), int(label)])
    return path
