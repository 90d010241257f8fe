"""A CSV file loaded into fitted training and validation arrays (one split, or K folds)."""

from __future__ import annotations

import shlex
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from keras_nnperf.tabular.csv_table import DataError, DataWarning, Table, parse_numeric, read_csv
from keras_nnperf.tabular.id_columns import find_id_columns, named_like_id
from keras_nnperf.tabular.names import closest_name, name_list
from keras_nnperf.tabular.preprocessor import TabularPreprocessor
from keras_nnperf.tabular.sentinels import target_missing_code
from keras_nnperf.tabular.task import (
    fold_indices,
    infer_task,
    merge_case_variants,
    split_indices,
    target_labels,
)


@dataclass
class TabularData:
    """Training and validation arrays of one CSV file and the preprocessor that made them.

    Attributes:
        x_train, y_train, x_val, y_val: The encoded splits.
        preprocessor: The `TabularPreprocessor` fitted on the training split.
        ids_train, ids_val: The ID column's values of each split's rows, or `None` without an
            ID column.
        train_rows, val_rows: Each split's row indices in the training table (rows with a
            target), in the order of the arrays (`split` shuffles the training rows), for
            assembling out-of-fold predictions; `None` when built by hand.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    preprocessor: TabularPreprocessor
    ids_train: list | None = None
    ids_val: list | None = None
    train_rows: np.ndarray | None = field(default=None, repr=False)
    val_rows: np.ndarray | None = field(default=None, repr=False)


@dataclass
class TrainingTable:
    """A CSV file ready to be split and encoded: rows with a target, its task, the left-out columns.

    Built by `read_training_table`. `split` gives one hold-out split, `folds` K-fold indices and
    `encode` the arrays of any split, so every fold gets a preprocessor fitted on its own
    training rows.

    Attributes:
        table: The rows that have a (finite) target.
        target: The target column.
        task: `"binary"`, `"multiclass"` or `"regression"`.
        classes: Class labels, or `None` for regression.
        labels: Each row's canonical label (for stratification).
        id_column: The ID column (named by the user or the one detected), or `None`.
        id_given: Whether the user named `id_column`.
        drop: Columns the user dropped.
        excluded: Detected ID columns left out (other than `id_column`), name -> reason.
        log_target: Train a regression target as its logarithm (`TabularPreprocessor.fit`).
        categorical: Columns read as categories even where every value is a number (postal
            codes, store or product codes).
        target_code: The target's missing-value code whose rows left the table
            (`target_missing_code`), or `None`.
    """

    table: Table
    target: str
    task: str
    classes: list | None
    labels: list
    id_column: str | None = None
    id_given: bool = False
    drop: tuple = ()
    excluded: dict = field(default_factory=dict)
    log_target: bool = False
    categorical: tuple = ()
    target_code: float | None = None

    @property
    def num_rows(self) -> int:
        """Rows with a target."""
        return self.table.num_rows

    def ids(self, rows) -> list | None:
        """The ID column's values of `rows`, or `None` without an ID column."""
        if self.id_column is None:
            return None
        column = self.table.columns[self.id_column]
        return [column[i] for i in rows]

    def encode(self, train_rows, val_rows, warn: bool = True) -> TabularData:
        """Fit a preprocessor on `train_rows` and encode both splits.

        Args:
            train_rows: Row indices of the training split (the statistics come from these).
            val_rows: Row indices of the validation split.
            warn: Emit the `DataWarning`s of the encoding (missing, non-finite and clipped
                values). Pass `False` for every fold after the first: they repeat.

        Returns:
            A `TabularData`.
        """
        train_rows, val_rows = np.asarray(train_rows, int), np.asarray(val_rows, int)
        with warnings.catch_warnings():
            if not warn:
                warnings.simplefilter("ignore", DataWarning)
            pre = TabularPreprocessor.fit(
                self.table,
                self.target,
                self.task,
                rows=train_rows,
                drop=self.drop,
                id_column=self.id_column,
                id_given=self.id_given,
                excluded=self.excluded,
                target_log=self.log_target,
                categorical=self.categorical,
                classes=self.classes,
                target_code=self.target_code,
            )
            x = pre.transform(self.table, warn=warn)
        y = pre.encode_target(self.table)
        return TabularData(
            x[train_rows],
            y[train_rows],
            x[val_rows],
            y[val_rows],
            pre,
            self.ids(train_rows),
            self.ids(val_rows),
            train_rows,
            val_rows,
        )

    def split(self, validation_fraction: float = 0.2, seed: int = 0) -> TabularData:
        """One hold-out split (stratified for classification), encoded.

        The training rows come in a random order (`seed`), the validation rows in file order.
        """
        train, val = split_indices(self.labels, validation_fraction, self.classes is not None, seed)
        return self.encode(_shuffled(train, seed), val)

    def folds(self, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
        """K-fold `(train_rows, val_rows)` pairs (stratified for classification); `encode` each.

        Each fold's training rows come in a random order (`seed`), its validation rows sorted.
        """
        pairs = fold_indices(self.labels, folds, self.classes is not None, seed)
        return [(_shuffled(train, seed + k), val) for k, (train, val) in enumerate(pairs)]


def _shuffled(rows: np.ndarray, seed: int) -> np.ndarray:
    """`rows` in a random order, so that the training arrays are too.

    Keras's `fit` shuffles every epoch, but whatever reads the first rows of `x_train` as a
    sample does not: the model doctor's first 256 rows, the activation monitor's probe batch.
    R's datasets often come sorted by the target (AER's DoctorVisits starts with every row of
    one or more visits): in file order those first 256 rows held no row of the majority class,
    and the doctor reported an untrained loss 3.15x the baseline for a network started exactly
    at it.
    """
    return np.random.default_rng([seed, 1]).permutation(rows)


def read_training_table(
    path: str,
    target: str,
    task: str = "auto",
    *,
    drop: Sequence[str] = (),
    id_column: str | None = None,
    keep: Sequence[str] = (),
    log_target: bool = False,
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
) -> TrainingTable:
    """Read `path`, drop rows without a usable target, decide the task and the left-out columns.

    Rows whose target is missing, or non-finite in a numeric target, are dropped with a
    `DataWarning`. ID-like columns (see `keras_nnperf.tabular.id_columns`) are left out of the
    features with a `DataWarning` naming each; when the user names no `id_column` and exactly
    one detected column is named like an id, it becomes the ID column (its values go with the
    predictions).

    Args:
        path: The CSV file, or a pandas `DataFrame` (read as its CSV: `read_csv`).
        target: The target column.
        task: `"auto"`, `"binary"`, `"multiclass"` or `"regression"`.
        drop: Columns to leave out.
        id_column: The ID column, left out of the features; its values are carried along.
        keep: Columns that are features even if they look like IDs.
        log_target: Train a positive regression target as its natural logarithm (predictions
            and metrics stay in its units): for a target spanning orders of magnitude.
        categorical: Columns to read as categories even where every value is a number (a
            postal code, a store or product code): each value is a level, spelled as in the
            file (`02134` keeps its zero). They are features, as `keep`'s are. Columns of
            numbers the file writes in quotes while it leaves other numbers bare (R's factors:
            `Table.quoted_numbers`) are read so too, with a `DataWarning` naming them.
        numeric: Columns of quoted numbers to read as numbers all the same (an ordered
            factor, `"1"` to `"8"`).

    Returns:
        A `TrainingTable`.

    Raises:
        DataError: for an unknown target, dropped, kept or ID column, an ID column that is the
            target or dropped, a kept column that is the target, dropped or the ID, or a target
            that cannot be learned.
    """
    table = read_csv(path)
    drop = (drop,) if isinstance(drop, str) else tuple(drop)
    features = (keep,) if isinstance(keep, str) else tuple(keep)
    # `read_csv` strips the header's names, so a name copied from a padded header (" y ")
    # would never match; strip the names given the same way.
    target, drop = _stripped(target), tuple(_stripped(name) for name in drop)
    features = tuple(_stripped(name) for name in features)
    categories = (categorical,) if isinstance(categorical, str) else tuple(categorical)
    categories = tuple(_stripped(name) for name in categories)
    numbers = (numeric,) if isinstance(numeric, str) else tuple(numeric)
    numbers = tuple(_stripped(name) for name in numbers)
    id_column = _stripped(id_column)
    _check_columns(table, target, drop, id_column)
    _check_kept(table, target, drop, id_column, features)
    _check_kept(table, target, drop, id_column, categories, option="--categorical")
    _check_kept(table, target, drop, id_column, numbers, option="--numeric")
    both = [n for n in categories if n in numbers]
    if both:
        raise DataError(f"column {both[0]!r} is given to both --categorical and --numeric")
    keep = [i for i, v in enumerate(table.columns[target]) if v is not None]
    empty = table.num_rows - len(keep)
    if len(keep) < table.num_rows:
        warnings.warn(
            f"dropped {table.num_rows - len(keep)} row(s) with no value in target {target!r}",
            DataWarning,
            stacklevel=2,
        )
        table = table.take(keep)
    if not keep:
        raise DataError(f"target column {target!r} has no values")
    parsed = parse_numeric(table.columns[target])
    if parsed is not None and parsed[1]:
        finite = np.flatnonzero(~np.isnan(parsed[0]))
        warnings.warn(
            f"dropped {parsed[1]} row(s) whose target {target!r} is inf, -inf or out of range",
            DataWarning,
            stacklevel=2,
        )
        if not len(finite):
            raise DataError(f"target column {target!r} has no finite values")
        table = table.take(finite)
        parsed = (parsed[0][finite], 0)
    code = None if parsed is None else target_missing_code(parsed[0])
    if code is not None:
        table = _without_target_code(table, target, parsed[0], code)
    labels = table.columns[target]
    if task != "regression":
        # Every later reader of the table (the preprocessor, the folds) sees one spelling.
        labels = table.columns[target] = merge_case_variants(labels, target)
    try:
        task_found, classes = infer_task(labels, task, target)
    except DataError as err:
        if empty and task != "regression" and len(set(labels)) == 1:
            # A flag column marked only where true ("Y" or nothing: agate's exonerations):
            # its empty cells, dropped as missing above, were the other class.
            raise DataError(
                f"{err}; its {empty} empty cell(s) were dropped as missing: if an empty cell "
                f"means another class (a flag marked only where it holds), fill them in (for "
                f"example with N) and run again"
            ) from None
        raise
    if log_target and task_found != "regression":
        raise DataError(f"--log-target needs a regression target; {target!r} is {task_found}")
    if task_found == "regression":
        values = parse_numeric(labels)[0]
        if log_target and (values < 0).any():
            raise DataError(
                f"--log-target needs a target of no negative value; {target!r} holds "
                f"{int((values < 0).sum())} below zero (the smallest {values.min():g})"
            )
        if not log_target:
            _warn_if_many_magnitudes(target, values)
    detected = find_id_columns(table, skip={target, *drop, id_column, *features, *categories})
    id_given = id_column is not None
    if not id_given:
        named = [n for n in detected if named_like_id(n)]
        if len(named) == 1:
            id_column = named[0]
    for name, reason in detected.items():
        carried = " (its values go with the predictions)" if name == id_column else ""
        warnings.warn(
            f"column {name!r} looks like an ID ({reason}); left out of the features{carried}",
            DataWarning,
            stacklevel=2,
        )
    quoted = _quoted_categories(table, {target, *drop, id_column, *categories, *numbers, *detected})
    return TrainingTable(
        table,
        target,
        task_found,
        classes,
        target_labels(labels, classes),
        id_column,
        id_given,
        drop,
        {n: r for n, r in detected.items() if n != id_column},
        bool(log_target),
        categories + quoted,
        code,
    )


def load_training_data(
    path: str,
    target: str,
    task: str = "auto",
    validation_fraction: float = 0.2,
    seed: int = 0,
    *,
    drop: Sequence[str] = (),
    id_column: str | None = None,
    keep: Sequence[str] = (),
    log_target: bool = False,
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
) -> TabularData:
    """Read `path`, split it (stratified for classification) and encode both splits.

    `read_training_table` then `TrainingTable.split`: rows without a target are dropped with a
    warning, ID-like columns and `drop` are left out, and standardization, medians, indicators
    and categories come from the training split only.

    Args:
        path: The CSV file, or a pandas `DataFrame` (read as its CSV: `read_csv`).
        target: The target column.
        task: `"auto"`, `"binary"`, `"multiclass"` or `"regression"`.
        validation_fraction: Share of rows held out for validation.
        seed: Seed of the split.
        drop: Columns to leave out of the features.
        id_column: The ID column: left out of the features, its values in `ids_train` and
            `ids_val` and remembered by the preprocessor for predictions.
        keep: Columns that are features even if they look like IDs (a time step numbering
            the rows, the one column a series has besides its value).
        log_target: Train a positive regression target as its logarithm (`read_training_table`).
        categorical: Columns read as categories even where every value is a number
            (`read_training_table`).
        numeric: Columns of quoted numbers read as numbers all the same (`read_training_table`).

    Returns:
        A `TabularData`.

    Raises:
        DataError: for any input the rules cannot handle.
    """
    prepared = read_training_table(
        path,
        target,
        task,
        drop=drop,
        id_column=id_column,
        keep=keep,
        log_target=log_target,
        categorical=categorical,
        numeric=numeric,
    )
    return prepared.split(validation_fraction, seed)


#: A positive regression target whose largest value is this many times its smallest (four
#: orders of magnitude) gets `_warn_if_many_magnitudes`'s advice.
MAGNITUDE_SPAN = 1e4


def _without_target_code(table: Table, target: str, values: np.ndarray, code: float) -> Table:
    """`table` without the rows whose target `values` are `code`, a missing-value code."""
    coded = values == code
    others = values[~coded]
    warnings.warn(
        f"target {target!r}: {code:g} ({int(coded.sum())} row(s)) lies far outside its other "
        f"values ({others.min():g} to {others.max():g}), as a code for a missing value does; "
        "those rows are left out",
        DataWarning,
        stacklevel=3,
    )
    return table.take(np.flatnonzero(~coded))


def _warn_if_many_magnitudes(target: str, values: np.ndarray) -> None:
    """Warn when a target's positive values span `MAGNITUDE_SPAN` or more: log it, maybe.

    Zeros may stand beside them, no negative value.

    mglearn's RAM prices fall from 4.1e8 to under 0.01: fitted by squared error in their own
    units, the network (and the linear model) fitted the few largest values and explained
    nothing (R² 0.07 and 0.00), where the logarithm is nearly a line in the year. Amounts with
    zeros too: cost-of-capital-calculator's fixed assets, 0 in 12% of 167,076 rows, the rest
    6.5 to 8.4e11. Training stays as asked; the user is told what to try.
    """
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    if not len(positive) or values.min() < 0 or positive.max() < MAGNITUDE_SPAN * positive.min():
        return
    low, high = positive.min(), positive.max()
    decades = int(np.floor(np.log10(high / low)))
    zeros = len(values) - len(positive)
    kind = (
        f"has {zeros} zero(s) and positive values that span" if zeros else "is positive and spans"
    )
    warnings.warn(
        f"target {target!r} {kind} {decades} orders of magnitude ({low:.3g} to {high:.3g}): "
        "fitted by squared error, the largest values dominate; if the ratios matter more than "
        "the differences, train on its logarithm (--log-target, log_target=True"
        + ("; with zeros, log(y + c), c a small positive value" if zeros else "")
        + "): predictions and metrics stay in its units",
        DataWarning,
        stacklevel=3,
    )


def _quoted_categories(table: Table, left_out) -> tuple[str, ...]:
    """The feature columns of numbers the file writes in quotes, read as categories, with a warning.

    R's `write.csv` quotes factor and text columns and leaves numbers bare, so `"308"` in such
    a file is a level its author declared: a subject, a school class, a batch, an occupation
    code. Read as numbers, their size meant nothing; read as categories, lme4's sleepstudy
    went from R² 0.40 to 0.86 and grouseticks from 0.15 to 0.84 (docs/benchmarks.md, "Codes
    written in digits"). `numeric` keeps an ordered factor a number.
    """
    names = tuple(n for n in table.quoted_numbers if n not in left_out)
    if names:
        shown = " ".join(shlex.quote(n) for n in names)
        warnings.warn(
            f"column(s) {name_list(names)} hold numbers the file writes in quotes, as R writes "
            f"factors and codes, and other numbers bare: read as categories (pass --numeric "
            f"{shown} to read them as numbers)",
            DataWarning,
            stacklevel=3,
        )
    return names


def _stripped(name):
    return name.strip() if isinstance(name, str) else name


def _no_column(start: str, name: str, table: Table) -> DataError:
    """The error for a column `name` that `table` lacks: the closest name, then every name.

    `--target Survived` on a file whose header says `survived` ended in "not found" and a list
    the user had to read through; the name differing only in case, or the closest spelling
    (`difflib`), is now offered first.
    """
    names = table.names
    close = closest_name(name, names)
    hint = f"did you mean {close!r}? " if close else ""
    return DataError(f"{start}; {hint}the columns are: {', '.join(names)}")


def _check_kept(table: Table, target, drop, id_column, keep, option="--keep") -> None:
    unknown = [n for n in keep if n not in table.columns]
    if unknown:
        raise _no_column(f"{option}: no column named {unknown[0]!r}", unknown[0], table)
    for name in keep:
        if name == target:
            raise DataError(f"{option} names the target column {target!r}")
        if name in drop or name == id_column:
            raise DataError(
                f"column {name!r} is both a feature ({option}) and left out (--drop, --id)"
            )


def _check_columns(table: Table, target, drop, id_column) -> None:
    if target not in table.columns:
        raise _no_column(f"target column {target!r} not found", target, table)
    unknown = [n for n in drop if n not in table.columns]
    if unknown:
        raise _no_column(f"--drop: no column named {unknown[0]!r}", unknown[0], table)
    if target in drop:
        raise DataError(f"--drop names the target column {target!r}")
    if id_column is None:
        return
    if id_column not in table.columns:
        raise _no_column(f"--id: no column named {id_column!r}", id_column, table)
    if id_column == target:
        raise DataError(f"--id names the target column {target!r}")
    if id_column in drop:
        raise DataError(f"column {id_column!r} is both dropped and the ID column")
