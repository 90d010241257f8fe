import pytest

from keras_nnperf.tabular import find_id_columns, read_csv
from keras_nnperf.tabular.id_columns import id_reason, named_like_id


@pytest.mark.parametrize(
    "name, values, reason",
    [
        ("id", ["3", "3", "1"], "named id"),  # named id: left out even when repeated
        ("ID", ["a", "b", "c"], "named id"),
        ("PassengerId", ["10", "12", "19"], "named like an id"),
        ("customer_id", ["x7", "y2", "q1"], "named like an id"),
        ("CustomerID", ["5", "9", "2"], "named like an id"),
        ("name", ["Ann", "Bob", "Cy"], "text with one distinct value"),
        ("row", ["4", "2", "3", "1"], "integers numbering the rows"),
        ("row", ["0", "2", "1"], "integers numbering the rows"),
        ("year", ["2004", "2002", "2003", "2001"], None),  # a run, but not from 0 or 1
        # rotterdam's `pid`: a run with a few numbers missing (rows left out), 20 or more.
        ("pid", [str(i) for i in range(1, 24) if i not in (5, 17)], "integers numbering the rows"),
        ("pid", [str(i) for i in range(0, 23) if i != 9], "integers numbering the rows"),
        ("pid", [str(i) for i in range(1, 25) if i not in (5, 9, 17)], None),  # 21 of 24
        ("pid", [str(i) for i in range(1, 21) if i != 5], None),  # 19 values: too few to tell
        ("pid", [str(i) for i in range(2, 24)], None),  # not from 0 or 1
        ("store_id", ["1", "2", "1"], None),  # a repeated key is a feature
        ("score", ["4", "20", "3", "5"], None),  # unique integers, not a run
        ("x", ["0.5", "1.5", "2.5"], None),  # unique floats
        ("city", ["a", "b", "a"], None),
        ("name", ["Ann", None, "Cy"], None),  # a missing value: not an identifier
        ("paid", ["1", "2", "3"], "integers numbering the rows"),  # run, not the name
        ("paid", ["1", "7", "3"], None),  # "paid" does not end like an id
        ("date", ["2020-01-01", "2020-01-02", "2020-01-03"], None),  # a time series: a feature
        # Names with a namesake, and gaps: at least 95% of 20+ values held by one row.
        ("Name", [f"n{i}" for i in range(39)] + ["n0"], "text whose values almost never"),
        ("Name", [f"n{i}" for i in range(30)] + [None] * 9, "text whose values almost never"),
        ("Name", [f"n{i}" for i in range(37)] + ["n0", "n1", "n2"], None),  # 34 of 40 once
        ("Name", [f"n{i}" for i in range(19)] + [None], None),  # 19 values: too few to tell
        ("x", [str(i / 7) for i in range(39)] + [None], None),  # numbers are not text
        ("day", [f"2020-01-{i:02d}" for i in range(1, 31)] + [None], None),  # dates are not
        # pandas' index, written unnamed by to_csv, shuffled: no run of row numbers.
        ("Unnamed: 0", ["17", "3", "98"], "no name in the header and one distinct value per row"),
        ("Unnamed: 0", ["1", "1", "2"], None),  # repeated: a feature with no name
        # A pandas index of dates (sktime's seatbelts): when each row was taken, a feature.
        ("Unnamed: 0", ["1969-01-01", "1969-02-01", "1969-03-01"], None),
    ],
)
def test_id_reason(name, values, reason):
    found = id_reason(name, values)
    assert found == reason if reason is None else found.startswith(reason)


@pytest.mark.parametrize(
    # DMBA's fundraising table has both `Row Id` and `Row Id.` (the row in the full data).
    "name",
    ["id", "Id", "row_id", "row id", "row.id", "PassengerId", "userID", "Row Id.", "CustID."],
)
def test_named_like_id(name):
    assert named_like_id(name)


@pytest.mark.parametrize("name", ["paid", "valid", "VALID", "idea", "grid", "paid.", "."])
def test_not_named_like_id(name):
    assert not named_like_id(name)


def test_find_id_columns_skips_the_named_ones(write):
    table = read_csv(write("id,name,x,y\n1,a,0.5,0\n2,b,0.5,1\n3,c,1.5,0\n"))
    assert list(find_id_columns(table)) == ["id", "name"]
    assert list(find_id_columns(table, skip={"id"})) == ["name"]


def test_a_shuffled_pandas_index_is_left_out_as_an_id(write):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "y": rng.integers(0, 2, 50)})
    path = write(frame.sample(frac=1.0, random_state=0).iloc[:40].to_csv())  # index kept
    with pytest.warns(UserWarning, match="have no name"):
        table = read_csv(path)
    assert list(find_id_columns(table)) == ["Unnamed: 0"]
