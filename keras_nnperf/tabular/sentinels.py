"""Numbers that stand for "missing": -999 among ages, 97 among income brackets.

Surveys and older tools write a missing number as a number: `-999`, `-1`, `99`, `9999`, or
`97`/`98` ("refused", "don't know"). Read as a quantity, explainerdashboard's Titanic puts 134
passengers at age -999, fifty times the spread of the real ages away: after standardizing, an
input of about -50 that the network must learn to ignore, and the real ages squeezed together.

A value is taken for such a code when all of these hold (`missing_code`):

* it is written like one: -1, or all nines with an optional sign (`9`, `-99`, `9999`), or
  nines ending in 7 or 8 (`97`, `998`);
* it is frequent: at least `MIN_ROWS` rows and `MIN_SHARE` of the present values;
* the other values are a quantity, at least `MIN_OTHER_VALUES` distinct ones (a column of 1
  and 9 is two codes, not a code among numbers);
* it lies outside their range by more than the range's width: -999 beside ages 0.67 to 80 (a
  gap of 999.7, width 79.3), 97 beside income brackets 1 to 16, 999 beside loan reviews 0 to 15.
  So 99 among ages up to 98, or 9 on a 1-8 scale, stay numbers: they may be real, and are near
  the others anyway.

And 0, which many older files write for a measurement not taken (the Pima study of diabetes,
shipped by faraway and others: 0 for glucose, blood pressure and body-mass index, values no
living person has), when all of these hold:

* it is frequent, as above, but less so than the other values together: where most rows are 0
  it is a state, not a gap (ISLR's orange juice discounts, 0 on 78% of the purchases and 0.1 to
  0.5 on the others; Ames' pool area, 0 on 99.6% of the houses);
* the other values are all positive, a measured quantity of at least `ZERO_MIN_OTHER_VALUES`
  distinct values;
* their lowest lies at least `ZERO_GAP` of their range above 0: glucose 44 to 199 (a gap of
  44, 0.28 of the range), diastolic pressure 24 to 122 (0.24), BMI 18.2 to 67.1 (0.37). A
  count or an amount that starts near 0 (pregnancies 1 to 17, capital gains 114 to 99,999,
  prices 0.99 to 400) keeps its 0: it is real there.

Such a value is read as missing: the column's missing-value indicator marks those rows, so
nothing the code said is lost (a real 0 read so still reaches the network, as the indicator),
and the median, scale and range are the other values'.
"""

from __future__ import annotations

import re

import numpy as np

#: A code needs at least this many rows ...
MIN_ROWS = 3
#: ... and at least this share of the column's present values.
MIN_SHARE = 0.005
#: The other values must have at least this many distinct values.
MIN_OTHER_VALUES = 3
#: For 0: the other values, all positive, must have this many distinct values ...
ZERO_MIN_OTHER_VALUES = 10
#: ... and their lowest must lie this share of their range above 0 ...
ZERO_GAP = 0.2
#: ... and 0 must be fewer than this share of the present values.
ZERO_MAX_SHARE = 0.5

_CODE_SPELLING = re.compile(r"-1|-?9*[789]")


def written_like_code(value: float) -> bool:
    """Whether `value` is spelled like a missing-number code: -1, 9, -99, 999, 97, 998, ..."""
    if value != np.round(value) or abs(value) > 1e9:
        return False
    text = str(int(value))
    return bool(_CODE_SPELLING.fullmatch(text)) and (text == "-1" or text.lstrip("-")[0] == "9")


def missing_code(values: np.ndarray, target: bool = False) -> float | None:
    """The value among `values` (finite, present) that codes "missing", or `None` (module rules).

    With several candidates, the most frequent one. For a `target` (`target_missing_code`) a
    code needs no frequency and 0 is never one.
    """
    if len(values) < (1 if target else MIN_ROWS) + MIN_OTHER_VALUES:
        return None
    distinct, counts = np.unique(values, return_counts=True)
    # Only the frequent values are looked at in Python: a continuous column of 260,000 rows has
    # as many distinct values, and a loop over all of them took 0.44 s a column. A target's
    # candidates are few: the lowest and the highest value.
    if target:
        frequent = np.unique([0, len(distinct) - 1])
    else:
        frequent = np.flatnonzero(counts >= max(MIN_ROWS, MIN_SHARE * len(values)))
    best = None
    for value, count in zip(distinct[frequent], counts[frequent], strict=True):
        others = distinct[distinct != value]
        if value == 0:
            found = not target and count < ZERO_MAX_SHARE * len(values)
            found = found and _zero_codes_missing(others)
        elif written_like_code(value) and len(others) >= MIN_OTHER_VALUES:
            low, high = others[0], others[-1]
            found = (low - value if value < low else value - high) > high - low
        else:
            found = False
        if found and (best is None or count > best[1]):
            best = (float(value), count)
    return None if best is None else best[0]


def target_missing_code(values: np.ndarray) -> float | None:
    """The value of a numeric target that codes "missing" (its rows have no target), or `None`.

    `missing_code`'s rules for a value written like a code and farther from the others than
    their range, at any count: no target holds such a value as a quantity or a class. One row
    in 300 was enough to do harm: pyvolcans' volcanoes code their tectonic setting 1 to 11 and
    an unknown one -9999 (5 of 1,439), so the codes read as a quantity and the regression
    scored R² -331. Not 0: a target's 0 is a value (no rain, no claim).
    """
    return missing_code(values, target=True)


def _zero_codes_missing(others: np.ndarray) -> bool:
    """Whether 0 below the sorted distinct `others` is a code (module rules), not a value."""
    if len(others) < ZERO_MIN_OTHER_VALUES or others[0] <= 0:
        return False
    return bool(others[0] >= ZERO_GAP * (others[-1] - others[0]))
