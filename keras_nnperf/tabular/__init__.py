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

from keras_nnperf.tabular.csv_table import (
    MISSING,
    DataError,
    DataWarning,
    Table,
    parse_numbers,
    read_csv,
)
from keras_nnperf.tabular.dataset import TabularData, load_training_data
from keras_nnperf.tabular.preprocessor import MAX_CATEGORIES, TabularPreprocessor
from keras_nnperf.tabular.task import (
    MAX_CLASSES,
    MIN_ROWS,
    TASKS,
    infer_task,
    split_indices,
    target_labels,
)

__all__ = [
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "MIN_ROWS",
    "MISSING",
    "TASKS",
    "DataError",
    "DataWarning",
    "Table",
    "TabularData",
    "TabularPreprocessor",
    "infer_task",
    "load_training_data",
    "parse_numbers",
    "read_csv",
    "split_indices",
    "target_labels",
]
