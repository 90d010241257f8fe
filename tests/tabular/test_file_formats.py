"""From a source to text: compressed files, archives and DataFrames read as their CSV."""

import bz2
import gzip
import io
import lzma
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from keras_nnperf.tabular import DataError, DataWarning, read_csv

TABLE = "x,kind,y\n1.5,red car,0\n-2.25,blue bus,1\n"
COLUMNS = {"x": ["1.5", "-2.25"], "kind": ["red car", "blue bus"], "y": ["0", "1"]}


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress],
    ids=["gzip", "bz2", "xz"],
)
def test_compressed_files_are_read_as_pandas_reads_them(tmp_path, compress):
    # Packages ship `.csv.gz` (siuba, sktime); the file was refused as "binary data".
    path = tmp_path / "table.csv.gz"
    path.write_bytes(compress(TABLE.encode("utf-16")))  # and decoded as any file
    assert read_csv(str(path)).columns == COLUMNS


def test_a_zip_of_one_csv_is_read_and_other_zips_are_named(tmp_path):
    path = tmp_path / "table.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/table.csv", TABLE)
        archive.writestr("__MACOSX/data/._table.csv", "resource fork")
    assert read_csv(str(path)).columns == COLUMNS
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", TABLE)
        archive.writestr("b.csv", TABLE)
    with pytest.raises(DataError, match=r"zip archive of 2 files \(a.csv, b.csv\)"):
        read_csv(str(path))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    # A workbook of no sheet (binary_tables reads a real one).
    with pytest.raises(DataError, match=r"Excel workbook \(\.xlsx\) that cannot be read"):
        read_csv(str(path))


def test_a_tar_of_one_csv_is_read_and_other_tars_are_named(tmp_path):
    # pmdarima ships its Microsoft prices as `msft.tar.gz`, as pandas reads it.
    path = tmp_path / "table.tar.gz"

    def write_tar(files):
        with tarfile.open(path, "w:gz") as archive:
            for member, text in files.items():
                info = tarfile.TarInfo(member)
                info.size = len(text.encode())
                archive.addfile(info, io.BytesIO(text.encode()))

    write_tar({"data/table.csv": TABLE, "data/._table.csv": "resource fork"})
    assert read_csv(str(path)).columns == COLUMNS
    write_tar({"a.csv": TABLE, "b.csv": TABLE})
    with pytest.raises(DataError, match=r"tar archive of 2 files \(a.csv, b.csv\)"):
        read_csv(str(path))


def test_a_pandas_data_frame_reads_as_its_csv_would(write):
    # A notebook's table: the same rules as a file, no temporary CSV by hand.
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "x": [0.1 + 0.2, np.nan, -1e-300],
            "kind": ["red car", None, "blue bus"],
            "when": pd.to_datetime(["2012-01-31", "2012-02-01", None]),
            "flag": [True, False, True],
            "engine": ["1248 CC", "998 CC", "2179 CC"],
            "y": [1, 0, 1],
        }
    )
    with pytest.warns(DataWarning, match="1248 CC as 1248"):
        table = read_csv(frame)
    assert table.path == "the DataFrame" and table.names == list(frame.columns)
    assert float(table.columns["x"][0]) == 0.1 + 0.2 and float(table.columns["x"][2]) == -1e-300
    assert table.columns["x"][1] is None and table.columns["kind"][1] is None
    assert table.columns["when"] == ["2012-01-31", "2012-02-01", None]
    assert table.columns["flag"] == ["True", "False", "True"]
    assert table.columns["engine"] == ["1248", "998", "2179"]
    # A sliced or shuffled frame's row labels are no column; a named index or dates are.
    assert read_csv(frame.iloc[[2, 0]]).names == list(frame.columns)
    assert read_csv(frame.set_index("when")).columns["when"] == ["2012-01-31", "2012-02-01", None]
    assert read_csv(frame.set_index("kind")).names[0] == "kind"
    series = frame.drop(columns="when").set_index(pd.date_range("2020-01-01", periods=3))
    assert read_csv(series).columns["Unnamed: 0"] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    with pytest.raises(DataError, match="path of a CSV file or a pandas DataFrame, got list"):
        read_csv([1, 2, 3])
    with pytest.raises(DataError, match="the DataFrame has a single column"):
        read_csv(frame[["x"]])


def test_training_data_from_a_data_frame_is_the_same_as_from_its_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    from keras_nnperf.tabular import load_training_data

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=60),
            "b": rng.choice(["u", "v", None], size=60),
            "y": rng.integers(0, 2, size=60),
        }
    )
    path = str(tmp_path / "table.csv")
    frame.to_csv(path, index=False)
    from_frame = load_training_data(frame, "y", seed=3)
    from_file = load_training_data(path, "y", seed=3)
    np.testing.assert_array_equal(from_frame.x_train, from_file.x_train)
    np.testing.assert_array_equal(from_frame.y_val, from_file.y_val)
    assert from_frame.preprocessor.get_config() == from_file.preprocessor.get_config()


def _sqlite_bytes(tmp_path):
    import sqlite3

    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("create table t (x real, y real)")
    return path.read_bytes()


def _zipped(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 2)))
    return buffer.getvalue()


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X_train=np.zeros((3, 2)), y_train=np.zeros(3))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "make, message",
    [
        # Statistics courses hand out Stata files; pyfixest and linearmodels ship them (before,
        # "binary data", with no word on what the file was or how to get a CSV).
        # (A Stata file is read now: a damaged one says so, in `binary_tables`.)
        (lambda _: b"<stata_dta><header><release>118</release>", r"Stata data file.*cannot be"),
        (lambda _: b"r\x02\x01\x00\x14\x00X\x02" + bytes(100), r"Stata data file"),  # format 114
        (lambda _: b"$FL2@(#) IBM SPSS STATISTICS" + bytes(50), r"SPSS data file.*read_spss"),
        (lambda _: bytes(12) + b"\xc2\xea\x81\x60\xb3\x14\x11\xcf" + bytes(50), r"SAS.*read_sas"),
        (lambda _: b"ARROW1\x00\x00\xff\xff" + bytes(20), r"Feather.*cannot be read"),
        (lambda _: _npy(), r"NumPy array \(\.npy\)"),
        (lambda _: _npz(), r"NumPy \.npz archive of arrays \(X_train\.npy, y_train\.npy\)"),
        (lambda _: b"\x89HDF\r\n\x1a\n" + bytes(50), r"HDF5 file.*read_hdf"),
        (_sqlite_bytes, r"SQLite database.*read_sql"),
        (lambda _: pickle.dumps({"a": [1, 2]}, protocol=4), r"Python pickle"),
        (lambda _: pickle.dumps([1.5], protocol=3), r"Python pickle"),
        (lambda _: gzip.compress(b"X\n\x00\x00\x00\x03\x00\x04\x02\x00"), r"R data file.*readRDS"),
        (lambda _: gzip.compress(b"RDX3\nX\n\x00\x00\x00\x03"), r"R data file"),
        (
            lambda _: _zipped({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}),
            r"OpenDocument spreadsheet \(\.ods\)",
        ),
    ],
)
def test_other_programs_data_files_are_named_with_the_way_to_a_csv(tmp_path, make, message):
    path = tmp_path / "data.bin"
    path.write_bytes(make(tmp_path))
    with pytest.raises(DataError, match=message):
        read_csv(str(path))
