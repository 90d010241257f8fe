"""Predicting a CSV file with a folder written by `nnperf fit`, and the demo's data file.

A folder holds either one model (`model.keras` + `preprocessing.json`) or, after
`nnperf fit --folds K`, K fold models listed in `folds.json` (`fold_k.keras` +
`fold_k_preprocessing.json`). The K folds predict as one ensemble: the mean of their class
probabilities (the predicted class is the most probable one) or of their regression outputs in
the target's original units. When the file has the target column, `predict_csv` also scores the
predictions with the metrics `nnperf fit` reports.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field

import numpy as np

from keras_nnperf.tabular import DataError, DataWarning, TabularPreprocessor, read_csv
from keras_nnperf.tabular.names import name_list

MODEL_FILE = "model.keras"
PREPROCESSING_FILE = "preprocessing.json"
FOLDS_FILE = "folds.json"


@dataclass
class Prediction:
    """What `predict_csv` returns.

    Attributes:
        columns: Output columns by name (an ID column first when the model has one, then
            `prediction` and, for classification, `probability_<class>`).
        metrics: `score`'s metrics against the file's target column, or `None` when the file
            has no target column (or no row with a target value).
        scored_rows: Rows the metrics cover (those with a target value).
        models: How many models predicted (folds averaged).
        networks: How many networks those models average in all (a `--ensemble` model
            holds several; `members_of`).
        target: The target column's name (what a submission file calls the prediction).
        id_column: The ID column's name in `columns`, or `None`.
    """

    columns: dict
    metrics: dict | None = None
    scored_rows: int = 0
    models: int = 1
    networks: int = 1
    notes: list = field(default_factory=list)
    target: str | None = None
    id_column: str | None = None

    def submission(self) -> dict:
        """The ID column (when there is one) and the prediction named after the target.

        What a Kaggle submission file holds: `id,target` (no probabilities).
        """
        head = {self.id_column: self.columns[self.id_column]} if self.id_column else {}
        return {**head, self.target or "prediction": self.columns["prediction"]}

    def __getitem__(self, name):  # `predict_csv(...)["prediction"]` as before
        return self.columns[name]

    def __iter__(self):
        return iter(self.columns)

    def __len__(self):
        return len(self.columns)


def model_files(model_dir: str) -> list[tuple[str, str]]:
    """`(model path, preprocessing path)` pairs in `model_dir`: one, or one per fold.

    Raises:
        DataError: for a folder with no model, or a damaged `folds.json`.
    """
    manifest = os.path.join(model_dir, FOLDS_FILE)
    if os.path.isfile(manifest):
        try:
            with open(manifest, encoding="utf-8") as f:
                folds = json.load(f)["folds"]
            pairs = [
                (os.path.join(model_dir, e["model"]), os.path.join(model_dir, e["preprocessing"]))
                for e in folds
            ]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DataError(f"cannot read {manifest}: {err!r}") from None
        if not pairs:
            raise DataError(f"{manifest} lists no folds")
        return pairs
    model_path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(model_path):
        raise DataError(f"{model_dir} has no {MODEL_FILE}; train one with: nnperf fit --out DIR")
    return [(model_path, os.path.join(model_dir, PREPROCESSING_FILE))]


def load_model_file(path: str):
    """`keras.models.load_model(path)`, with a one-line `DataError` for a missing or damaged file.

    Keras says "File not found" for any file that is not a readable zip; a file that exists
    deserves a truer sentence.
    """
    import keras

    _import_registrations()
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"{path} is not a valid .keras file (truncated or damaged?); "
            "train again with nnperf fit"
        )
    try:
        return keras.models.load_model(path, compile=False)  # predicting needs no optimizer
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"cannot load {path}: {first}") from None


def _import_registrations() -> None:
    # A saved model names our layers, activations, initializers ... by their registered names;
    # Keras finds them only once the modules that register them are imported (see
    # tests/test_saving_without_import.py). `import keras_nnperf` imports them all today; this
    # keeps `predict` working if the package's import becomes lazy.
    import importlib

    for name in ("activations", "constraints", "initializers", "layers", "optimizers", "schedules"):
        importlib.import_module(f"keras_nnperf.{name}")


def _load_preprocessor(path: str) -> TabularPreprocessor:
    pre = TabularPreprocessor.load(path)
    try:  # A file with the right top-level keys can still lack a feature's keys.
        pre.num_features  # noqa: B018
    except (KeyError, TypeError, AttributeError) as err:
        raise DataError(
            f"cannot read the preprocessing file {path}: missing or bad entry {err}"
        ) from None
    return pre


def _transform(pre, table, path, warn):
    try:
        return pre.transform(table, warn=warn)
    except (KeyError, TypeError, AttributeError) as err:
        raise DataError(
            f"the preprocessing file {path} is damaged or from another version: {err!r}"
        ) from None


def predict_csv(model_dir: str, path: str) -> Prediction:
    """Predict every row of the CSV `path` with the model(s) and preprocessing in `model_dir`.

    `path` may be a pandas `DataFrame`, read as its CSV would be (`read_csv`).

    With K fold models, their outputs in the target's units are averaged. When `path` has the
    target column, the rows with a target value are scored (`Prediction.metrics`).

    Returns:
        A `Prediction`; `columns` are as `TabularPreprocessor.decode` gives them, an ID column
        first when the preprocessing names one and the file has it.

    Raises:
        DataError: for a folder without a model, a damaged file, or data that does not match.
    """
    from keras_nnperf.recipe.ensemble import members_of
    from keras_nnperf.recipe.metrics import (
        in_target_units,
        scores_for,
        true_in_target_units,
    )

    pairs = model_files(model_dir)
    preprocessors = [_load_preprocessor(pre_file) for _, pre_file in pairs]
    # A file to predict may hold a single feature column (a time stamp, say) and no target.
    # Read as training read its file: a few rows of "2,000" alone show no decimal comma, one
    # row of `None` no other word that makes it a level.
    first = preprocessors[0]
    table = read_csv(
        path,
        min_columns=1,
        decimal_comma=first.decimal_comma or None,
        none_levels=first.none_levels,
    )
    outputs, networks = [], 0
    _warn_about_new_data(preprocessors[0], table)
    for i, ((model_file, pre_file), pre) in enumerate(zip(pairs, preprocessors, strict=True)):
        x = _transform(pre, table, pre_file, warn=i == 0)
        model = load_model_file(model_file)
        networks += len(members_of(model))
        raw = model.predict(x, batch_size=256, verbose=0)
        outputs.append(in_target_units(pre, raw))
    mean = np.mean(outputs, axis=0)
    columns = _decode(pre, mean)
    ids = _id_column(pre, table)
    if ids is not None:
        columns = {ids[0]: ids[1], **columns}
    result = Prediction(
        columns,
        models=len(pairs),
        networks=networks,
        target=pre.target,
        id_column=None if ids is None else ids[0],
    )
    if pre.target in table.columns:
        rows, coded = _scored_rows(pre, table.columns[pre.target])
        if coded:
            result.notes.append(
                f"{coded} row(s) whose target is {pre.target_code:g}, the missing-value code "
                "training left out, not scored"
            )
        try:
            y = pre.encode_target(table.take(rows)) if rows else None
        except (DataError, TypeError, ValueError) as err:
            result.notes.append(f"not scored: {err}")
            y = None
        if y is not None:
            truth = true_in_target_units(pre, y)
            result.metrics = scores_for(pre, truth, mean[rows])
            result.scored_rows = len(rows)
    return result


def _scored_rows(pre, column) -> tuple[list[int], int]:
    """The rows of the target `column` to score, and how many hold its missing-value code.

    Those with a value, but for the code training left out (`TabularPreprocessor.target_code`):
    pyvolcans' -9999 is no tectonic setting to score, and as a class training never saw it
    would leave the whole file unscored.
    """
    rows = [i for i, v in enumerate(column) if v is not None]
    if pre.target_code is None:
        return rows, 0
    kept = [i for i in rows if not _is_number(column[i], pre.target_code)]
    return kept, len(rows) - len(kept)


def _is_number(cell: str, number: float) -> bool:
    try:
        return float(cell) == number
    except ValueError:
        return False


def _warn_about_new_data(pre, table) -> None:
    """Warn about columns training never saw and category values it has no category for."""
    if unused := pre.unused_columns(table):
        warnings.warn(
            f"column(s) the model was not trained on, ignored: {name_list(unused)}",
            DataWarning,
            stacklevel=3,
        )
    if unknown := pre.unknown_categories(table):
        shown = "; ".join(
            f"{name}: "
            + ", ".join(f"{v!r} ({n} row{'s' if n > 1 else ''})" for v, n in list(c.items())[:3])
            + (f" and {len(c) - 3} more" if len(c) > 3 else "")
            for name, c in unknown.items()
        )
        warnings.warn(
            "values with no category in training (new, or too rare in training to learn), "
            f"encoded as unknown: {shown}",
            DataWarning,
            stacklevel=3,
        )


def _decode(pre, mean) -> dict:
    # `decode` takes raw model outputs; the mean is in target units (probabilities or values).
    if pre.task == "regression":
        return {"prediction": list(np.asarray(mean, dtype=float).reshape(-1))}
    probabilities = np.asarray(mean, dtype=float)
    columns = {"prediction": [pre.classes[i] for i in probabilities.argmax(axis=1)]}
    for j, label in enumerate(pre.classes):
        columns[f"probability_{label}"] = list(probabilities[:, j])
    return columns


def _id_column(pre, table):
    # The ID column (`--id`, or the one detected): a submission wants it first.
    values = pre.ids(table)
    return None if values is None else (pre.id_column, values)


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
