"""A CSV file loaded into fitted training and validation arrays."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from keras_nnperf.tabular.csv_table import DataError, DataWarning, read_csv
from keras_nnperf.tabular.preprocessor import TabularPreprocessor
from keras_nnperf.tabular.task import infer_task, split_indices, target_labels


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
