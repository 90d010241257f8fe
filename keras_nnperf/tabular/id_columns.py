"""ID-like columns: row identifiers that a network must not learn from.

An ID is no feature: in a file sorted by class it leaks the answer on the validation split and
predicts nothing on new rows. A column is taken for an ID when

* its name is `id` (any case); or
* its name ends like an id (`passenger_id`, `PassengerId`, `CustomerID`, `row id`) and its
  values are unique per row; or
* its values are unique per row and text (every value a category of its own: nothing to learn),
  other than dates (`parse_dates`: one reading a day is a time series, and its date a feature);
  or
* its values are unique per row and integers forming a consecutive run from 0 or 1 (a row
  number; a run of years, 2001 to 2010, is a feature).

A column whose name ends like an id but repeats values (`store_id` in a sales table) is kept: it
is a categorical key and often a strong feature.
"""

from __future__ import annotations

import re

import numpy as np

from keras_nnperf.tabular.csv_table import Table, parse_dates, parse_numeric

_CAMEL_SUFFIX = re.compile(r"[a-z0-9](?:Id|ID)$")


def named_like_id(name: str) -> bool:
    """Whether `name` ends like an id: `id`, `*_id`, `* id`, `*.id`, `*-id`, `*Id`, `*ID`."""
    return bool(re.search(r"(?:^|[_\s.\-])id$", name, re.IGNORECASE) or _CAMEL_SUFFIX.search(name))


def id_reason(name: str, values: list[str | None]) -> str | None:
    """Why the column `name` is an ID (a few words), or `None` when it is not one."""
    if name.strip().lower() == "id":
        return "named id"
    if len(values) < 2 or any(v is None for v in values) or len(set(values)) < len(values):
        return None
    if named_like_id(name):
        return "named like an id, one distinct value per row"
    parsed = parse_numeric(values)
    if parsed is None:
        return None if parse_dates(values) is not None else "text with one distinct value per row"
    numbers = parsed[0]
    if np.isnan(numbers).any() or not np.all(numbers == np.round(numbers)):
        return None
    if numbers.min() in (0, 1) and numbers.max() - numbers.min() == len(numbers) - 1:
        return "integers numbering the rows: 0 or 1 to n, one per row"
    return None


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
