"""A CSV file turned into training arrays, with the preprocessing saved next to the model.

The rules, applied the same way by `nnperf fit` and `nnperf predict` (docs/data.md has them all,
with every warning):

* **Reading.** Standard-library `csv`, UTF-8 (UTF-16 with a byte-order mark; else Windows-1252, with
  a warning), a header row, gzip/bz2/xz and one-file zip or tar read through, JSON tables (records,
  lines, pandas' layouts), Weka's ARFF (`arff`), sktime's `.ts` time series (`ts_files`) and
  pandas DataFrames read as their CSV, Parquet, Feather, Stata and Excel files read through
  pandas as their CSV (`binary_tables`), other programs' data files (SPSS, SAS, R, HDF5, ...)
  named with the call that converts them, `#` comments left out (NumPy's commented header
  read as the header, `comments`), repeats of the header left out.
  The delimiter (`,` `;` tab `|`, else runs of spaces) is detected or named by Excel's `sep=` line;
  rows one field longer than the header start with row names; in a file not separated by commas,
  columns of numbers written with decimal commas are read as numbers, in a comma file columns of
  numbers with commas grouping thousands, and anywhere columns of percentages, of amounts of money
  and of numbers grouped by spaces or apostrophes or with the minus sign U+2212, or written with one
  unit (`1248 CC`), magnitudes (`1.2K`) or bounds (`90+`, `<5`) (each with a warning). Empty cells
  and `NA`, `N/A`, `NaN`, `null`, `None`, `?` (any case) are missing values; `inf`, `-inf` and
  numbers beyond float64 are treated as missing (with a warning naming the column and count). A
  spreadsheet's title or a file's metadata above the header, lines of units under it, notes
  below the table and its `Total` or `Average` rows are left out (`spreadsheet`).
* **Columns left out.** Those named with `drop`, the ID column (`id_column`), and ID-like
  columns (`id_columns`: named `id`; named like an id and unique per row; unique text, or
  text whose values almost never repeat, such as names; a run of integers from 0 or 1), each
  with a warning.
* **Task.** A numeric target with at most 20 distinct integer values (and at most one distinct
  value per two rows) that read as class codes (two values, or from -1, 0 or 1 upwards with
  gaps of 2 on average at most) is a classification target (binary with two values, else
  multiclass); a text target is a classification target; any other numeric target is
  regression, with a warning when whole numbers are read as a quantity.
* **Features.** A column whose present values all parse as numbers is numeric: standardized,
  `(x / scale - mean) / std`, with statistics of the **training split only** (`scale`, a power
  of two, keeps values near 1e308 from overflowing), a missing value filled with the training
  median and flagged in a 0/1 indicator column when the training split had missing values; a
  new value beyond the training range by more than its width is clipped to that bound.
  A column of dates or date-times (ISO `2012-01-31`, `2012/01/31`, `01/31/2012` when a day
  above 12 tells the order, `Jan 31 2012`, `2012 Q1`; `date_spelling`) is numeric too, as days since
  1970-01-01 (`parse_dates`), with the season, weekday and hour it varies along
  (`calendar_cycles`, `calendar_features`) when they explain the target
  (`informative_cycles`). Any other column is categorical: one-hot
  encoded over the training split's levels when it has at most `ONE_HOT_MAX_LEVELS`, else
  integer codes (0 = missing or unseen, and levels of one training row when they hold most
  of its rows: names) for an embedding of fastai's size (`embedding_size`,
  `TabularEmbedding`). A column with no usable value in the
  training split is left out with a warning.
* **Regression targets** are standardized too (training split only) and mapped back by `decode`.

Bad input raises `DataError` with one readable sentence; fixable problems emit a `DataWarning`.
"""

from keras_nnperf.tabular.csv_table import (
    MISSING,
    DataError,
    DataWarning,
    Table,
    detect_delimiter,
    parse_numbers,
    parse_numeric,
    read_csv,
)
from keras_nnperf.tabular.dataset import (
    TabularData,
    TrainingTable,
    load_training_data,
    read_training_table,
)
from keras_nnperf.tabular.dates import (
    calendar_cycles,
    calendar_features,
    date_spelling,
    informative_cycles,
    parse_dates,
)
from keras_nnperf.tabular.embedding import TabularEmbedding, embedding_size
from keras_nnperf.tabular.id_columns import find_id_columns
from keras_nnperf.tabular.preprocessor import (
    MAX_CATEGORIES,
    ONE_HOT_MAX_LEVELS,
    TabularPreprocessor,
)
from keras_nnperf.tabular.task import (
    MAX_CLASSES,
    MIN_ROWS,
    TASKS,
    fold_indices,
    infer_task,
    split_indices,
    target_labels,
)

__all__ = [
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "MIN_ROWS",
    "MISSING",
    "ONE_HOT_MAX_LEVELS",
    "TASKS",
    "DataError",
    "DataWarning",
    "Table",
    "TabularData",
    "TabularEmbedding",
    "TabularPreprocessor",
    "TrainingTable",
    "calendar_cycles",
    "calendar_features",
    "date_spelling",
    "detect_delimiter",
    "embedding_size",
    "find_id_columns",
    "fold_indices",
    "infer_task",
    "informative_cycles",
    "load_training_data",
    "parse_dates",
    "parse_numbers",
    "parse_numeric",
    "read_csv",
    "read_training_table",
    "split_indices",
    "target_labels",
]
