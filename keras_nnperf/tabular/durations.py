"""Durations written with colons, `12:19` or `36:15:00`: a number, not a time of day or text.

Sports tables write a player's time on ice or minutes played as minutes and seconds (Hockey
Reference's `atoi`, `toi_60`: `12:19`, `25:02`), race results as `1:45.32` or `2:03:59`, and
spreadsheets durations past a day as `[h]:mm:ss` (`36:15:00`). A column of times that are all
times of day (`06:16`, `23:10:05`) is read by the date reader as a fraction of a day; these
were none, so they stayed text: Hockey Reference's skater table gave `atoi` 1,268 categories,
of which the 1,000 most frequent were embedded and the rest were unknown, and a time never seen
in training meant nothing.

`duration_columns` reads a column as a duration when every present cell is `a:bb` or
`a:bb:cc` (a middle field 00-59, the last 00-60, an optional fraction on the last, an
optional minus sign) and the column is not all times of day: a first field past 24 (or
`24:01`) somewhere, a fraction after only two fields (`1:45.32` is minutes, seconds and
hundredths), a minus sign, or a last field of 60 (seconds rounded up: Hockey Reference's
`toi_60` writes `19:60` for 20:00 on 94 rows). A cell is then its count of the last field's
unit, `a * 60 + bb` or `(a * 60 + bb) * 60 + cc`, so two-field cells among three-field ones are
minutes and seconds: the one reading under which `59:30` and `1:02:15` in a marathon column are
both race times in seconds. A column of times that could all be times of day (`06:16`,
`23:10:05`) is left to the date reader, which reads them as fractions of a day: proportional
to the duration too. `2:1` (a score) or `16:9` (a ratio) has a one-digit last field and is no
duration; `1:50000` (a scale) has five.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"(-?)(\d+):(\d\d)(?::(\d\d))?([.,]\d+)?", re.ASCII)

#: The last field may read 60: a count of seconds rounded up (`19:60`, Hockey Reference's
#: `toi_60`, is 20:00). Fields between the first and the last are 00-59.
_LAST_FIELD_MAX = 60

#: A first field from which a two- or three-field time is no time of day (`24:00` is one).
_PAST_A_DAY = 24


def _fields(cell: str):
    match = _DURATION.fullmatch(cell)
    if match is None:
        return None
    sign, first, second, third, fraction = match.groups()
    fields = [int(first), int(second)] + ([int(third)] if third is not None else [])
    if any(field > 59 for field in fields[1:-1]) or fields[-1] > _LAST_FIELD_MAX:
        return None
    return sign, fields, fraction


def _is_duration_column(parsed: list) -> bool:
    past_a_day = any(
        fields[0] > _PAST_A_DAY or (fields[0] == _PAST_A_DAY and (any(fields[1:]) or fraction))
        for _, fields, fraction in parsed
    )
    minute_fractions = any(fraction and len(fields) == 2 for _, fields, fraction in parsed)
    negative = any(sign for sign, _, _ in parsed)
    rounded_up = any(fields[-1] == _LAST_FIELD_MAX for _, fields, _ in parsed)
    return past_a_day or minute_fractions or negative or rounded_up


def _seconds(sign: str, fields: list[int], fraction: str | None) -> str:
    value = 0.0
    for field in fields:
        value = value * 60 + field
    if fraction:
        value += float("0." + fraction[1:])
    return repr(-value if sign else value)


def duration_columns(columns: dict) -> list[str]:
    """Rewrite in place the columns of durations as numbers; return their names.

    Args:
        columns: Column name -> cells (text, `None` for missing), as `read_csv` holds them.
    """
    converted = []
    for name, cells in columns.items():
        present = [cell for cell in cells if cell is not None]
        if not present or ":" not in present[0]:
            continue
        parsed = {cell: _fields(cell) for cell in present}  # each distinct cell parsed once
        if None in parsed.values() or not _is_duration_column(list(parsed.values())):
            continue
        columns[name] = [None if cell is None else _seconds(*parsed[cell]) for cell in cells]
        converted.append(name)
    return converted
