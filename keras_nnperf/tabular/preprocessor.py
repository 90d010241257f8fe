"""The fitted encoding of a table: standardized numbers, one-hot categories, saved as JSON."""

from __future__ import annotations

import json
import warnings

import numpy as np

from keras_nnperf.tabular.csv_table import DataError, DataWarning, Table, parse_numbers
from keras_nnperf.tabular.task import TASKS, infer_task, target_labels

MAX_CATEGORIES = 50


class TabularPreprocessor:
    """Encode a `Table` into a float32 matrix (and its target), as fitted on a training split.

    Build one with `fit`; save it with `save(path)` as JSON and get it back with `load(path)`.

    Args:
        target: The target column name.
        task: `"binary"`, `"multiclass"` or `"regression"`.
        features: One dict per feature column: `{"name", "kind": "numeric", "mean", "std",
            "fill"}` or `{"name", "kind": "categorical", "categories"}`.
        classes: Class labels (classification) or `None`.
        target_mean: Training mean of a regression target (else `None`).
        target_std: Training standard deviation of a regression target (else `None`).

    Example:
    ```python
    table = read_csv("train.csv")
    pre = TabularPreprocessor.fit(table, "label")
    x, y = pre.transform(table), pre.encode_target(table)
    ```
    """

    def __init__(self, target, task, features, classes=None, target_mean=None, target_std=None):
        if task not in TASKS[1:]:
            raise ValueError(f"Argument task must be one of {TASKS[1:]}. Received: task={task!r}")
        self.target = target
        self.task = task
        self.features = features
        self.classes = classes
        self.target_mean = target_mean
        self.target_std = target_std

    @classmethod
    def fit(cls, table: Table, target: str, task: str = "auto", rows=None):
        """Learn the encoding from `table` (only `rows` of it for the statistics, if given).

        The type of each column is decided on the whole table so that both splits agree.

        Raises:
            DataError: for an unknown target, no feature columns, an all-missing column or a
                target that cannot be learned.
        """
        if target not in table.columns:
            raise DataError(
                f"target column {target!r} not found; the columns are: {', '.join(table.names)}"
            )
        names = [n for n in table.names if n != target]
        empty = [n for n in names if all(v is None for v in table.columns[n])]
        if empty:
            raise DataError(f"column(s) with no values at all: {', '.join(empty)}; drop them")
        labels = table.columns[target]
        if any(v is None for v in labels):
            raise DataError(f"target column {target!r} has missing values")
        rows = np.arange(table.num_rows) if rows is None else np.asarray(rows)
        task, classes = infer_task([labels[i] for i in rows], task, target)
        features = []
        for name in names:
            column = table.columns[name]
            numbers = parse_numbers(column)
            if numbers is not None:
                train = numbers[rows]
                train = train[~np.isnan(train)]
                mean, std = (float(train.mean()), float(train.std())) if len(train) else (0.0, 1.0)
                fill = float(np.median(train)) if len(train) else 0.0
                features.append(
                    {"name": name, "kind": "numeric", "mean": mean, "std": std or 1.0, "fill": fill}
                )
                continue
            counts = {}
            for i in rows:
                if column[i] is not None:
                    counts[column[i]] = counts.get(column[i], 0) + 1
            ranked = sorted(counts, key=lambda c: (-counts[c], c))
            if len(ranked) > MAX_CATEGORIES:
                warnings.warn(
                    f"column {name!r} has {len(ranked)} categories; keeping the "
                    f"{MAX_CATEGORIES} most frequent, the others encode as all zeros",
                    DataWarning,
                    stacklevel=2,
                )
            features.append(
                {"name": name, "kind": "categorical", "categories": ranked[:MAX_CATEGORIES]}
            )
        mean = std = None
        if task == "regression":
            y = parse_numbers(labels)[rows]
            mean, std = float(y.mean()), float(y.std()) or 1.0
        return cls(target, task, features, classes, mean, std)

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns (`name` or `name=category`)."""
        out = []
        for f in self.features:
            if f["kind"] == "numeric":
                out.append(f["name"])
            else:
                out.extend(f"{f['name']}={c}" for c in f["categories"])
        return out

    @property
    def num_features(self) -> int:
        """Width of the encoded matrix."""
        return len(self.feature_names)

    @property
    def num_classes(self) -> int | None:
        """Number of classes, or `None` for regression."""
        return None if self.classes is None else len(self.classes)

    def transform(self, table: Table, warn: bool = True) -> np.ndarray:
        """Encode the feature columns of `table` (extra columns, such as the target, are ignored).

        Args:
            table: The data.
            warn: Emit a `DataWarning` naming the columns with missing values.

        Returns:
            A float32 array of shape `(table.num_rows, num_features)`.

        Raises:
            DataError: for a missing feature column or text in a numeric column.
        """
        absent = [f["name"] for f in self.features if f["name"] not in table.columns]
        if absent:
            raise DataError(f"{table.path} lacks the feature column(s): {', '.join(absent)}")
        blocks, imputed = [], []
        for f in self.features:
            column = table.columns[f["name"]]
            if any(v is None for v in column):
                imputed.append(f["name"])
            if f["kind"] == "numeric":
                numbers = parse_numbers(column)
                if numbers is None:
                    bad = next(v for v in column if parse_numbers([v]) is None)
                    raise DataError(
                        f"column {f['name']!r} was numeric in training but holds {bad!r}"
                    )
                numbers = np.where(np.isnan(numbers), f["fill"], numbers)
                blocks.append(((numbers - f["mean"]) / f["std"])[:, None])
            else:
                index = {c: j for j, c in enumerate(f["categories"])}
                onehot = np.zeros((len(column), len(index)))
                for i, value in enumerate(column):
                    if value in index:
                        onehot[i, index[value]] = 1.0
                blocks.append(onehot)
        if warn and imputed:
            warnings.warn(
                f"missing values in column(s) {', '.join(imputed)}: numeric ones filled with the "
                "training median, categorical ones encoded as all zeros",
                DataWarning,
                stacklevel=2,
            )
        return np.concatenate(blocks, axis=1).astype("float32")

    def encode_target(self, table: Table) -> np.ndarray:
        """The target as the model is trained on it.

        Returns:
            Binary: float32 `(n, 1)` of 0/1. Multiclass: int32 `(n,)` class indices.
            Regression: float32 `(n, 1)`, standardized.

        Raises:
            DataError: for a missing target column or a label not seen in training.
        """
        if self.target not in table.columns:
            raise DataError(f"{table.path} has no target column {self.target!r}")
        values = table.columns[self.target]
        if self.task == "regression":
            y = parse_numbers(values)
            return ((y - self.target_mean) / self.target_std)[:, None].astype("float32")
        index = {c: i for i, c in enumerate(self.classes)}
        labels = target_labels(values, self.classes)
        unknown = sorted({v for v in labels if v not in index}, key=str)
        if unknown:
            raise DataError(f"target labels not seen in training: {unknown[:5]}")
        y = np.asarray([index[v] for v in labels])
        return y[:, None].astype("float32") if self.task == "binary" else y.astype("int32")

    def decode(self, outputs) -> dict[str, list]:
        """Model outputs as CSV columns.

        Returns:
            Classification: `{"prediction": labels, "probability_<class>": ...}` for every class.
            Regression: `{"prediction": values}` in the target's original units.
        """
        outputs = np.asarray(outputs, dtype="float64")
        if self.task == "regression":
            return {"prediction": list(outputs.reshape(-1) * self.target_std + self.target_mean)}
        if self.task == "binary":
            p = outputs.reshape(-1)
            probs = np.stack([1.0 - p, p], axis=1)
        else:
            probs = outputs.reshape(len(outputs), -1)
        columns = {"prediction": [self.classes[i] for i in probs.argmax(axis=1)]}
        for j, label in enumerate(self.classes):
            columns[f"probability_{label}"] = list(probs[:, j])
        return columns

    def get_config(self) -> dict:
        """JSON-ready dict; `TabularPreprocessor(**config)` rebuilds it."""
        return {
            "target": self.target,
            "task": self.task,
            "features": self.features,
            "classes": self.classes,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
        }

    def save(self, path: str) -> None:
        """Write the config as JSON to `path`."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.get_config(), f, indent=1)

    @classmethod
    def load(cls, path: str) -> TabularPreprocessor:
        """Read a preprocessor written by `save`.

        Raises:
            DataError: if `path` is missing or not a preprocessor file.
        """
        try:
            with open(path, encoding="utf-8") as f:
                return cls(**json.load(f))
        except (OSError, ValueError, TypeError) as err:
            raise DataError(f"cannot read the preprocessing file {path}: {err}") from None
