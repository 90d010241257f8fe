"""A CSV file turned into training arrays, with the preprocessing saved next to the model.

The rules, applied the same way by `nnperf fit` and `nnperf predict`:

* **Reading.** Standard-library `csv`, comma-separated, UTF-8, a header row. Empty cells and
  `NA`, `N/A`, `NaN`, `null`, `None`, `?` (any case) are missing values.
* **Task.** A numeric target with at most 20 distinct integer values (and at most one distinct
  value per two rows) is a classification target (binary with two values, else multiclass);
  a text target is a classification target; any other numeric target is regression.
* **Features.** A column whose present values all parse as numbers is numeric: it is
  standardized, `(x - mean) / std`, with the mean and standard deviation of the **training split
  only**, and a missing value becomes the training median (with a warning naming the column).
  Any other column is categorical and one-hot encoded over the categories of the training split
  (the 50 most frequent at most); a missing or unseen category encodes as all zeros.
* **Regression targets** are standardized too (training split only) and mapped back by `decode`.

Bad input raises `DataError` with one readable sentence; fixable problems (missing values,
rows without a target, capped categories) emit a `DataWarning`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

TASKS = ("auto", "binary", "multiclass", "regression")
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
MAX_CLASSES = 20
MAX_CATEGORIES = 50
MIN_ROWS = 10


class DataError(ValueError):
    """Bad input data: the message is one sentence meant for the user."""


class DataWarning(UserWarning):
    """A data problem that was fixed automatically (imputed values, dropped rows)."""


@dataclass
class Table:
    """A CSV file as text columns: `columns[name][row]` is a string, or `None` when missing."""

    path: str
    columns: dict[str, list[str | None]]

    @property
    def names(self) -> list[str]:
        """Column names in file order."""
        return list(self.columns)

    @property
    def num_rows(self) -> int:
        """Number of data rows."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def take(self, rows) -> Table:
        """A new table with only `rows` (indices), in that order."""
        return Table(self.path, {k: [v[i] for i in rows] for k, v in self.columns.items()})


def read_csv(path: str) -> Table:
    """Read a comma-separated UTF-8 file with a header row.

    Args:
        path: The file.

    Returns:
        A `Table`.

    Raises:
        DataError: for a missing, unreadable, empty, binary or ragged file, or a bad header.
    """
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, not a CSV file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    if not raw.strip():
        raise DataError(f"{path} is empty")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path} is not a CSV file (it contains binary data)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV file") from None
    try:
        lines = [row for row in csv.reader(text.splitlines(), strict=True) if row]
    except csv.Error as err:
        raise DataError(f"{path} is not a valid CSV file: {err}") from None
    header = [name.strip() for name in lines[0]]
    if len(header) < 2:
        raise DataError(
            f"{path} has a single column; a CSV for nnperf needs feature columns and a target "
            "column separated by commas"
        )
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"{path}: column {i + 1} of the header has no name")
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise DataError(f"{path}: duplicate column names {duplicates}")
    body = lines[1:]
    if not body:
        raise DataError(f"{path} has a header but no data rows")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(row)} fields but the header has {len(header)}"
            )
    columns = {
        name: [None if cell.strip().lower() in MISSING else cell.strip() for cell in column]
        for name, column in zip(header, zip(*body, strict=True), strict=True)
    }
    return Table(path, columns)


def parse_numbers(values: list[str | None]) -> np.ndarray | None:
    """Values as float64 with NaN for missing ones, or `None` if any value is not a number."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            number = float(value)
        except ValueError:
            return None
        if math.isfinite(number):
            out[i] = number
    return out


def _label(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def infer_task(values: list[str | None], task: str = "auto", name: str = "target"):
    """Decide the task of a target column and its class labels.

    Args:
        values: The target column (no missing values).
        task: `"auto"` (see the module rules) or the task to force.
        name: The column name, for messages.

    Returns:
        `(task, classes)`: `classes` is the sorted list of labels (as strings) for a classification
        task and `None` for regression.

    Raises:
        DataError: for a single class, a non-numeric regression target, or `"binary"` with a
            number of classes other than two.
    """
    if task not in TASKS:
        raise DataError(f"--task must be one of {', '.join(TASKS)}; got {task!r}")
    numbers = parse_numbers(values)
    if task == "regression" or task == "auto" and numbers is not None:
        if numbers is None:
            example = next(v for v in values if parse_numbers([v]) is None)
            raise DataError(
                f"target column {name!r} is not numeric (for example {example!r}); it cannot be "
                "a regression target; use --task binary or --task multiclass"
            )
        distinct = np.unique(numbers)
        integral = bool(np.all(distinct == np.round(distinct)))
        few = len(distinct) <= MAX_CLASSES and len(distinct) <= max(2, len(values) // 2)
        if task == "regression" or not (integral and few):
            if len(distinct) < 2:
                raise DataError(f"target column {name!r} has a single value; nothing to learn")
            return "regression", None
    if numbers is not None:
        classes = [_label(v) for v in np.unique(numbers)]
    else:
        classes = sorted(set(values))
    if len(classes) < 2:
        raise DataError(
            f"target column {name!r} has a single class ({classes[0]!r}); a classifier needs "
            "at least two"
        )
    if task == "binary" and len(classes) != 2:
        raise DataError(
            f"--task binary needs two classes but target column {name!r} has {len(classes)}"
        )
    if task == "auto":
        task = "binary" if len(classes) == 2 else "multiclass"
    return task, classes


def target_labels(values: list[str | None], classes: list[str] | None) -> list[str | None]:
    """Canonical label strings (`"1.0"` and `"1"` are the same numeric class)."""
    if classes is None or parse_numbers(values) is None:
        return values
    return [None if v is None else _label(float(v)) for v in values]


def split_indices(labels, validation_fraction: float, stratify: bool, seed: int):
    """Shuffle rows into a training and a validation split.

    With `stratify`, each class keeps its share in both splits (a class with one row stays in
    training).

    Args:
        labels: One label per row (used only when `stratify`).
        validation_fraction: The share of rows held out, in (0, 1).
        stratify: Whether to split each class separately.
        seed: Seed of the shuffle.

    Returns:
        `(train_indices, validation_indices)`, sorted NumPy arrays.

    Raises:
        DataError: with fewer than `MIN_ROWS` rows or an empty split.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise DataError(f"--validation-split must be in (0, 1); got {validation_fraction!r}")
    n = len(labels)
    if n < MIN_ROWS:
        raise DataError(
            f"too few rows for a validation split: {n} rows with a target, need at least {MIN_ROWS}"
        )
    rng = np.random.default_rng(seed)
    groups = {}
    for i, label in enumerate(labels if stratify else [None] * n):
        groups.setdefault(label, []).append(i)
    validation = []
    for rows in groups.values():
        rows = rng.permutation(rows)
        take = int(round(validation_fraction * len(rows))) if len(rows) > 1 else 0
        validation.extend(rows[: min(take, len(rows) - 1)])
    validation = np.sort(np.asarray(validation, dtype=int))
    train = np.setdiff1d(np.arange(n), validation)
    if len(validation) == 0 or len(train) == 0:
        raise DataError(f"too few rows for a validation split ({n} rows)")
    return train, validation


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


@dataclass
class TabularData:
    """Training and validation arrays of one CSV file and the preprocessor that made them."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    preprocessor: TabularPreprocessor


def load_training_data(
    path: str, target: str, task: str = "auto", validation_fraction: float = 0.2, seed: int = 0
) -> TabularData:
    """Read `path`, split it (stratified for classification) and encode both splits.

    Rows without a target value are dropped with a warning. Standardization, medians and
    categories come from the training split only.

    Args:
        path: The CSV file.
        target: The target column.
        task: `"auto"`, `"binary"`, `"multiclass"` or `"regression"`.
        validation_fraction: Share of rows held out for validation.
        seed: Seed of the split.

    Returns:
        A `TabularData`.

    Raises:
        DataError: for any input the rules above cannot handle.
    """
    table = read_csv(path)
    if target not in table.columns:
        raise DataError(
            f"target column {target!r} not found; the columns are: {', '.join(table.names)}"
        )
    keep = [i for i, v in enumerate(table.columns[target]) if v is not None]
    if len(keep) < table.num_rows:
        warnings.warn(
            f"dropped {table.num_rows - len(keep)} row(s) with no value in target {target!r}",
            DataWarning,
            stacklevel=2,
        )
        table = table.take(keep)
    if not keep:
        raise DataError(f"target column {target!r} has no values")
    labels = table.columns[target]
    task_found, classes = infer_task(labels, task, target)
    train, val = split_indices(
        target_labels(labels, classes), validation_fraction, classes is not None, seed
    )
    pre = TabularPreprocessor.fit(table, target, task_found, rows=train)
    x = pre.transform(table)
    y = pre.encode_target(table)
    return TabularData(x[train], y[train], x[val], y[val], pre)
