import pytest

from keras_nnperf.tabular import DataWarning, read_csv
from keras_nnperf.tabular.durations import duration_columns


def test_minutes_and_seconds_past_an_hour_read_as_seconds(write):
    # Hockey Reference's time on ice: 25:02 is no time of day, so the column was text, a
    # category per value.
    path = write("player,atoi,pts\nA,12:19,3\nB,25:02,4\nC,8:24,\nD,,1\n")
    with pytest.warns(DataWarning, match=r"durations read as numbers.*atoi"):
        table = read_csv(path)
    assert table.columns["atoi"] == ["739.0", "1502.0", "504.0", None]
    assert table.columns["player"] == ["A", "B", "C", "D"]


@pytest.mark.parametrize(
    "cells, seconds",
    [
        (["1:45.32", "1:44.10"], [105.32, 104.1]),  # a fraction after two fields: minutes
        (["59:30", "1:02:15"], [3570.0, 3735.0]),  # two and three fields: a marathon column
        (["36:15:00", "12:00:00"], [130500.0, 43200.0]),  # Excel's [h]:mm:ss past a day
        (["-0:30", "1:15"], [-30.0, 75.0]),
        (["24:01", "3:00"], [1441.0, 180.0]),  # 24:00 is the end of a day, 24:01 is none
        (["19:60", "7:05"], [1200.0, 425.0]),  # seconds rounded up to 60 (Hockey Reference)
    ],
)
def test_duration_spellings(cells, seconds):
    columns = {"t": [*cells, None]}
    assert duration_columns(columns) == ["t"]
    assert [float(c) for c in columns["t"][:-1]] == pytest.approx(seconds)
    assert columns["t"][-1] is None


@pytest.mark.parametrize(
    "cells",
    [
        ["06:16", "23:10:05", "24:00"],  # times of day: the date reader's
        ["23:10:05.5", "7:05"],  # a fraction of a second on a time of day
        ["2:1", "0:0"],  # football scores
        ["16:9", "4:3"],  # aspect ratios
        ["1:50000", "1:25000"],  # map scales
        ["12:19", "abc"],  # not every present cell
        ["12:75", "30:00"],  # 75 is no count of seconds
        ["1:60:00", "30:00"],  # nor 60 minutes between hours and seconds
    ],
)
def test_not_durations_stay_as_they_are(cells):
    columns = {"t": list(cells)}
    assert duration_columns(columns) == []
    assert columns["t"] == cells
