"""ID-like columns: row identifiers that a network must not learn from.

An ID is no feature: in a file sorted by class it leaks the answer on the validation split and
predicts nothing on new rows. A column is taken for an ID when

* its name is `id` (any case); or
* its name ends like an id (`passenger_id`, `PassengerId`, `CustomerID`, `row id`, `Row Id.`)
  and its values are unique per row; or
* its values are unique per row and text (every value a category of its own: nothing to learn),
  other than dates (`parse_dates`: one reading a day is a time series, and its date a feature;
  dates that never show which of day and month comes first are named as such); or
* it is text (not dates) whose values almost never repeat: at least `NEARLY_UNIQUE` (95%) of
  its non-missing values, and at least 20 of them, held by one row only. Names and free text
  are such columns (Titanic's passenger names: 1,310 distinct in 1,313 rows, gaps allowed); a
  category learned from one row is that row's answer memorized, and a new row's value is
  unseen anyway; or
* its values are unique per row and integers forming a consecutive run from 0 or 1 (a row
  number; a run of years, 2001 to 2010, is a feature), or such a run with a few numbers missing
  (`ROW_NUMBER_DENSITY`; 20 values or more): subject numbers of a study after rows were left
  out, as R's `survival::rotterdam` has its `pid` (2,982 of 1 to 3,007), in the order of the
  original file, which was sorted by outcome; or
* it had no name in the header (`Unnamed: 0`, as `read_csv` and pandas name it) and its values
  are unique per row: pandas' index, which `DataFrame.to_csv()` writes unless told
  `index=False`, shuffled or filtered as often as not.

A column whose name ends like an id but repeats values (`store_id` in a sales table) is kept: it
is a categorical key and often a strong feature.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from keras_nnperf.tabular.csv_table import Table, parse_numeric
from keras_nnperf.tabular.dates import (
    AMBIGUOUS_DAY_MONTH,
    AMBIGUOUS_DAY_MONTH_FIX,
    ambiguous_day_month,
    parse_dates,
)

_CAMEL_SUFFIX = re.compile(r"[a-z0-9](?:Id|ID)$")

# What `read_csv` (and pandas) name a header column with no name: `DataFrame.to_csv()` writes
# the index so, and after a shuffle or a filter it is no consecutive run of row numbers.
_PANDAS_UNNAMED = re.compile(r"Unnamed: \d+")

#: Text whose share of values held by one row only is at least this is names or free text.
NEARLY_UNIQUE = 0.95

#: Fewer non-missing values than this are too few to call a text column nearly unique.
_NEARLY_UNIQUE_MIN_VALUES = 20

#: Unique integers from 0 or 1 filling at least this share of their range number the rows, with
#: gaps where rows were left out (and 20 values or more: `_NEARLY_UNIQUE_MIN_VALUES`).
ROW_NUMBER_DENSITY = 0.9

# Why a column of dates like 01/02/2012 is left out (`dates.ambiguous_day_month`): unique per
# row, it is text with one value per row, but the fix is the user's, and the message says it.
_AMBIGUOUS_DATES = f"{AMBIGUOUS_DAY_MONTH}; {AMBIGUOUS_DAY_MONTH_FIX}, to use them"


def named_like_id(name: str) -> bool:
    """Whether `name` ends like an id: `id`, `*_id`, `* id`, `*.id`, `*-id`, `*Id`, `*ID`.

    Trailing dots do not count (`Row Id.`: DMBA's fundraising table holds it beside `Row Id`).
    """
    name = name.rstrip(".")
    return bool(re.search(r"(?:^|[_\s.\-])id$", name, re.IGNORECASE) or _CAMEL_SUFFIX.search(name))


def id_reason(name: str, values: list[str | None]) -> str | None:
    """Why the column `name` is an ID (a few words), or `None` when it is not one."""
    if name.strip().lower() == "id":
        return "named id"
    if len(values) < 2 or any(v is None for v in values) or len(set(values)) < len(values):
        return _nearly_unique_text(values)
    if named_like_id(name):
        return "named like an id, one distinct value per row"
    if _PANDAS_UNNAMED.fullmatch(name) and parse_dates(values) is None:
        # A pandas index of dates (a time series' DatetimeIndex, sktime's seatbelts) is when
        # each row was taken: a feature, with its trend and season.
        return "no name in the header and one distinct value per row: pandas' index"
    parsed = parse_numeric(values)
    if parsed is None:
        if parse_dates(values) is not None:
            return None
        return (
            _AMBIGUOUS_DATES
            if ambiguous_day_month(values)
            else "text with one distinct value per row"
        )
    numbers = parsed[0]
    if np.isnan(numbers).any() or not np.all(numbers == np.round(numbers)):
        return None
    if numbers.min() not in (0, 1):
        return None
    missing = int(numbers.max() - numbers.min()) + 1 - len(numbers)
    if missing == 0:
        return "integers numbering the rows: 0 or 1 to n, one per row"
    if len(numbers) >= _NEARLY_UNIQUE_MIN_VALUES and len(numbers) >= ROW_NUMBER_DENSITY * (
        len(numbers) + missing
    ):
        # In the file's order, which is often sorted by the outcome: rotterdam's `pid` gave
        # 0.968 accuracy against 0.866 for logistic regression, both learning the sort.
        return (
            f"integers numbering the rows, one per row: {int(numbers.min())} to "
            f"{int(numbers.max())} with {missing} missing (rows left out)"
        )
    return None


def _nearly_unique_text(values: list[str | None]) -> str | None:
    present = [v for v in values if v is not None]
    if len(present) < _NEARLY_UNIQUE_MIN_VALUES:
        return None
    counts = Counter(present)
    once = sum(1 for count in counts.values() if count == 1)
    if once < NEARLY_UNIQUE * len(present) or parse_numeric(present) is not None:
        return None
    if parse_dates(present) is not None:
        return None
    return (
        f"text whose values almost never repeat: {len(counts)} distinct in "
        f"{len(present)} non-missing values, a name or free text"
    )


def find_id_columns(table: Table, skip=()) -> dict[str, str]:
    """ID-like columns of `table` (see the module rules), name -> reason, in file order."""
    found = {}
    for name in table.names:
        if name in skip:
            continue
        reason = id_reason(name, table.columns[name])
        if reason is not None:
            found[name] = reason
    return found
