"""The word `None` among words: a level of the column ("no disorder"), not a missing value."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from keras_nnperf.tabular.dates import date_spelling

#: The spellings of `None` that `csv_table.MISSING` reads as missing elsewhere.
NONE_WORDS = frozenset({"none", "None", "NONE"})

#: The words of a flag, compared case-blind: beside `True`/`False` (`str()` of a Python optional)
#: or `Y`/`N`, `None` is no third answer but a flag not recorded (healthcareai's readmission
#: flag: 836 `N`, 154 `Y`, 10 `None`).
_FLAG_WORDS = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n"})


def none_is_a_level(
    cells: Iterable[str], is_missing: Callable[[str], bool], is_number: Callable[[str], bool]
) -> bool:
    """Whether `None` in this column of raw cells names a level rather than a missing value.

    It does in a column of words: the column holds `None` (`NONE_WORDS`) and at least one other
    word, and none of its other present cells is a number or a date, nor are they all a flag's
    (`Y`/`N`, `Yes`/`No`, `True`/`False`: there `None` is a flag not recorded). `None`
    is then what the other words are not: a sleep-disorder column of `Insomnia`, `Sleep Apnea`
    and `None` (219 of 374 rows, which a missing-value reading drops from a target, leaving a
    model of disordered sleepers only), Ames's masonry veneer `None` beside `Stone` and
    `BrkFace`, joint pain `None`, `Moderate`, `Severe`. Among numbers, dates or a flag's words
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
    if not others or {value.casefold() for value in others} <= _FLAG_WORDS:
        return False
    return not any(is_number(value) for value in others) and date_spelling(others) is None
