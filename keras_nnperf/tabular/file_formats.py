"""From a source to the text `read_csv` parses: a file's bytes, an archive, JSON, a DataFrame.

One concept: whatever the user hands over becomes the text of a delimited table.

* a file, read whole: a Parquet, Feather, Stata or Excel (`.xlsx`) file through pandas
  (`binary_tables`); else its compression told by its first bytes (gzip, bz2, xz, a zip or
  tar archive of one file; an `.xls` or OpenDocument workbook, a zstd or 7-Zip file, and
  SPSS, SAS, R, HDF5, SQLite, NumPy and pickle files get an error that says how to get a
  CSV), decoded (UTF-8, UTF-16 with its byte-order mark, else Windows-1252,
  warned), a JSON table written as its CSV (`json_records`), and so are Weka's ARFF (`arff`)
  and sktime's `.ts` time-series files (`ts_files`);
  an HTML page or an XML file gets an error that says how to get a CSV;
* a pandas `DataFrame`, as the CSV its `to_csv` writes (`frame_text`).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import warnings
import zipfile
import zlib

from keras_nnperf.tabular.arff import arff_csv, looks_like_arff
from keras_nnperf.tabular.binary_tables import binary_table_frame
from keras_nnperf.tabular.errors import DataError, DataWarning
from keras_nnperf.tabular.json_records import looks_like_json, records_csv
from keras_nnperf.tabular.ts_files import looks_like_ts, ts_csv


def source_text(source) -> tuple[str, str]:
    """The text of a delimited table from `source`, and what messages call it.

    Args:
        source: A file's path, or a pandas `DataFrame`.

    Returns:
        `(text, name)`: `name` is the path, or `FRAME_NAME` for a frame.

    Raises:
        DataError: for a missing, unreadable, empty, binary, damaged or unsupported file.
    """
    if is_data_frame(source):
        text = frame_text(source)
        if not text.strip():
            raise DataError(f"{FRAME_NAME} is empty")
        return text, FRAME_NAME
    text = _file_text(source)
    if looks_like_json(text) and (converted := records_csv(text)) is not None:
        text = converted[0]  # JSON records, lines, columns or split: as their CSV
    elif looks_like_arff(text):
        text = arff_csv(text, source)
    elif looks_like_ts(text):
        text, said = ts_csv(text, source)
        # Shown at the line that called `read_csv` (source_text, read_csv): the label's column
        # is the `--target` to give.
        warnings.warn(
            f"{os.path.basename(source)} is a .ts time-series file (sktime, aeon): {said}",
            DataWarning,
            stacklevel=3,
        )
    elif markup := _markup(text):
        raise DataError(f"{source} is {markup}")
    return text, source


# Markup told by its first tag: what it is, and how to get a CSV. A web page's table saved
# from a browser, or an "Excel" download that is HTML, read as a CSV was ragged lines of tags.
_MARKUP = (
    (
        ("<!doctype html", "<html", "<table"),
        "an HTML page, not a CSV file; save its table as CSV: "
        "pandas.read_html(path)[0].to_csv('table.csv', index=False)",
    ),
    (
        ("<?xml", "<svg", "<!--"),
        "an XML file, not a CSV file; convert its records to CSV first: "
        "pandas.read_xml(path).to_csv('table.csv', index=False)",
    ),
)


def _markup(text: str) -> str | None:
    """What `text` is when it starts with an HTML or XML tag, else `None`."""
    start = text.lstrip()[:20].lower()
    for openings, what in _MARKUP:
        if start.startswith(openings):
            return what
    return None


#: What messages and `Table.path` call a table read from a pandas `DataFrame`.
FRAME_NAME = "the DataFrame"


def is_data_frame(source) -> bool:
    """Whether `source` is a pandas `DataFrame` (told without importing pandas)."""
    kind = type(source)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas")


def frame_text(frame) -> str:
    """A pandas `DataFrame` as the CSV text its `to_csv` writes, for `read_csv`.

    Numbers are written so they read back exactly, dates in ISO 8601, missing values (NaN,
    `None`, `pd.NA`, `NaT`) as empty cells. The index is written only when it says something:
    named (`set_index("store")`) or dates (a time series' `DatetimeIndex`, `PeriodIndex`), which
    `read_csv`'s rules then read as a feature. An unnamed index of numbers is row labels (what
    slicing or `train_test_split` leaves): written, it was a column the model trained on
    nothing from and warned about in every prediction.
    """
    index = frame.index
    named = any(name is not None for name in index.names)
    dated = type(index).__name__ in ("DatetimeIndex", "PeriodIndex")
    return frame.to_csv(index=named or dated)


def _file_text(path: str) -> str:
    """The text of the file `path`, decompressed and decoded (see `read_csv`)."""
    if not isinstance(path, str | os.PathLike):
        raise DataError(
            f"expected the path of a CSV file or a pandas DataFrame, got {type(path).__name__}"
        )
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, not a CSV file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    read = binary_table_frame(raw, path)
    if read is not None:
        frame, header = read
        return frame_text(frame) if header else frame.to_csv(header=False, index=False)
    raw = _decompressed(raw, path)
    if not raw.strip():
        raise DataError(f"{path} is empty")
    return _decoded(raw, path)


_SPSS = (
    "an SPSS data file (.sav); write it as CSV first: "
    "pandas.read_spss(path).to_csv('table.csv', index=False) (needs pyreadstat)"
)
_R_DATA = (
    "an R data file (.rds or .RData); in R, write.csv(readRDS(path), 'table.csv', "
    "row.names = FALSE), or load() then write.csv"
)

# Files that are not text, told by their first bytes: what to say, and how to get a CSV.
_NOT_TEXT = {
    b"\xd0\xcf\x11\xe0": (
        "an Excel 97-2003 workbook (.xls); save the sheet as CSV UTF-8 in Excel, or "
        "pandas.read_excel(path).to_csv(...)"
    ),
    b"\x28\xb5\x2f\xfd": "compressed with zstd; decompress it first (zstd -d)",
    b"7z\xbc\xaf": "a 7-Zip archive; extract the CSV file from it first",
    # Other programs' own formats, as statistics courses and packages hand them out.
    b"$FL2": _SPSS,
    b"$FL3": _SPSS,
    b"\x93NUMPY": "a NumPy array (.npy); write it as CSV with a header first: "
    "pandas.DataFrame(numpy.load(path), columns=[...]).to_csv('table.csv', index=False)",
    b"\x89HDF\r\n\x1a\n": "an HDF5 file; write its table as CSV first: "
    "pandas.read_hdf(path, key).to_csv('table.csv', index=False)",
    b"SQLite format 3\x00": "an SQLite database; write its table as CSV first: "
    "pandas.read_sql('select * from TABLE', sqlite3.connect(path)).to_csv('table.csv', "
    "index=False)",
    b"RDX2\n": _R_DATA,
    b"RDX3\n": _R_DATA,
    b"X\n\x00\x00": _R_DATA,
}
for _protocol in (b"\x80\x03", b"\x80\x04\x95", b"\x80\x05\x95"):
    _NOT_TEXT[_protocol] = (
        "a Python pickle; load it in Python (only if you trust its source) and pass the "
        "DataFrame itself, or its to_csv"
    )


def _refuse_known_formats(raw: bytes, name: str) -> None:
    """A `DataError` naming the format of `raw` and how to get a CSV, when it is one we know."""
    for magic, what in _NOT_TEXT.items():
        if raw.startswith(magic):
            raise DataError(f"{name} is {what}")
    # SAS's: magic bytes further in.
    if raw[12:16] == b"\xc2\xea\x81\x60":
        raise DataError(
            f"{name} is a SAS data file (.sas7bdat); write it as CSV first: "
            "pandas.read_sas(path).to_csv('table.csv', index=False)"
        )


def _decompressed(raw: bytes, path: str) -> bytes:
    """The CSV inside a gzip, bz2, xz, one-file zip or tar file, as pandas reads them; else `raw`.

    Told by the file's first bytes, not its name: packages ship `.csv.gz`, archives get renamed.

    Raises:
        DataError: for a damaged archive, a zip of no or several files, an Excel workbook, a
            Parquet file or a compression Python cannot read.
    """
    name = os.path.basename(path)
    _refuse_known_formats(raw, name)
    openers = {
        b"\x1f\x8b": gzip.decompress,
        b"BZh": bz2.decompress,
        b"\xfd7zXZ\x00": lzma.decompress,
    }
    try:
        for magic, decompress in openers.items():
            if raw.startswith(magic):
                raw = decompress(raw)
                _refuse_known_formats(raw, name)  # R saves its data gzipped
                break
        if raw.startswith(b"PK\x03\x04"):
            return _zip_member(raw, name)
        if raw[257:262] == b"ustar":  # a tar archive (pmdarima ships `msft.tar.gz`)
            return _tar_member(raw, name)
    except DataError:
        raise
    except (
        OSError,
        EOFError,
        ValueError,
        zlib.error,
        lzma.LZMAError,
        zipfile.BadZipFile,
        tarfile.TarError,
    ):
        raise DataError(f"{name} is a damaged or truncated compressed file") from None
    return raw


def _tar_member(raw: bytes, name: str) -> bytes:
    """The one regular file inside a tar archive (macOS's `._` copies aside)."""
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.isfile() and not os.path.basename(m.name).startswith("._")
        ]
        if len(members) != 1:
            _one_member_error(name, "tar", [m.name for m in members])
        return archive.extractfile(members[0]).read()


def _one_member_error(name: str, kind: str, members: list[str]):
    listed = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
    raise DataError(
        f"{name} is a {kind} archive of {len(members)} files ({listed or 'none'}); "
        f"nnperf reads a {kind} archive holding one CSV file: extract the one to use"
    )


def _zip_member(raw: bytes, name: str) -> bytes:
    """The one file inside a zip archive (macOS's `__MACOSX` copies aside)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = [
            m for m in archive.namelist() if not m.endswith("/") and not m.startswith("__MACOSX/")
        ]
        if "mimetype" in members and b"opendocument.spreadsheet" in archive.read("mimetype"):
            raise DataError(
                f"{name} is an OpenDocument spreadsheet (.ods); save the sheet as CSV, or "
                "pandas.read_excel(path, engine='odf').to_csv(...)"
            )
        if members and all(m.endswith(".npy") for m in members):
            shown = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
            raise DataError(
                f"{name} is a NumPy .npz archive of arrays ({shown}); write the table as CSV "
                "with a header first: pandas.DataFrame(numpy.load(path)[NAME], columns=[...])"
                ".to_csv('table.csv', index=False)"
            )
        if len(members) != 1:
            _one_member_error(name, "zip", members)
        return archive.read(members[0])


def _decoded(raw: bytes, path: str) -> str:
    """The file's text: UTF-8, UTF-16 with a byte-order mark, else Windows-1252 (warned)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(f"{path} is not valid UTF-16 text") from None
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path} is not a CSV file (it contains binary data)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV file") from None
    # Shown at the line that called `read_csv` (_decoded, _file_text, source_text, read_csv).
    warnings.warn(
        f"{os.path.basename(path)} is not UTF-8; read as Windows-1252, the encoding Excel "
        "writes on Western Windows systems (check accented text; save as UTF-8 to be sure)",
        DataWarning,
        stacklevel=5,
    )
    return text
