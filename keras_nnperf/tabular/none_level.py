"""The word `None` among words: a level of the column ("no disorder"), not a missing value."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from keras_nnperf.tabular.dates import date_spelling

#: The spellings of `None` that `csv_table.MISSING` reads as missing elsewhere.
NONE_WORDS = frozenset({"none", "None", "NONE"})

#: Python's booleans: `True`, `False` and `None` are `str()` of an optional flag, where `None`
#: is missing.
_PYTHON_LITERALS = frozenset({"True", "False", "true", "false", "TRUE", "FALSE"})


def none_is_a_level(
    cells: Iterable[str], is_missing: Callable[[str], bool], is_number: Callable[[str], bool]
) -> bool:
    """Whether `None` in this column of raw cells names a level rather than a missing value.

    It does in a column of words: the column holds `None` (`NONE_WORDS`) and at least one other
    word, and none of its other present cells is a number, a date or a Python boolean. `None`
    is then what the other words are not: a sleep-disorder column of `Insomnia`, `Sleep Apnea`
    and `None` (219 of 374 rows, which a missing-value reading drops from a target, leaving a
    model of disordered sleepers only), Ames's masonry veneer `None` beside `Stone` and
    `BrkFace`, joint pain `None`, `Moderate`, `Severe`. Among numbers, dates or `True`/`False`
    it stays missing, as pandas reads it everywhere.

    Args:
        cells: The column's cells as read (missing markers included).
        is_missing: Whether a stripped cell is a missing-value marker.
        is_number: Whether a stripped cell is a number (by any rule the reader reads).
    """
    distinct = {cell.strip() for cell in cells}
    if not distinct & NONE_WORDS:
        return False
    others = [value for value in distinct - NONE_WORDS if not is_missing(value)]
    if not others or set(others) <= _PYTHON_LITERALS:
        return False
    return not any(is_number(value) for value in others) and date_spelling(others) is None
