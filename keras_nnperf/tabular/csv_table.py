"""Reading a CSV file into text columns, with the missing-value spellings nnperf accepts."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass

import numpy as np

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


class DataError(ValueError):
    """Bad input data: the message is one sentence meant for the user."""


class DataWarning(UserWarning):
    """A data problem that was fixed automatically (imputed values, dropped rows)."""


@dataclass
class Table:
    """A CSV file as text columns: `columns[name][row]` is a string, or `None` when missing."""

    path: str
    columns: dict[str, list[str | None]]

    @property
    def names(self) -> list[str]:
        """Column names in file order."""
        return list(self.columns)

    @property
    def num_rows(self) -> int:
        """Number of data rows."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def take(self, rows) -> Table:
        """A new table with only `rows` (indices), in that order."""
        return Table(self.path, {k: [v[i] for i in rows] for k, v in self.columns.items()})


def read_csv(path: str) -> Table:
    """Read a comma-separated UTF-8 file with a header row.

    Args:
        path: The file.

    Returns:
        A `Table`.

    Raises:
        DataError: for a missing, unreadable, empty, binary or ragged file, or a bad header.
    """
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, not a CSV file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    if not raw.strip():
        raise DataError(f"{path} is empty")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path} is not a CSV file (it contains binary data)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV file") from None
    try:
        lines = [row for row in csv.reader(text.splitlines(), strict=True) if row]
    except csv.Error as err:
        raise DataError(f"{path} is not a valid CSV file: {err}") from None
    header = [name.strip() for name in lines[0]]
    if len(header) < 2:
        raise DataError(
            f"{path} has a single column; a CSV for nnperf needs feature columns and a target "
            "column separated by commas"
        )
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"{path}: column {i + 1} of the header has no name")
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise DataError(f"{path}: duplicate column names {duplicates}")
    body = lines[1:]
    if not body:
        raise DataError(f"{path} has a header but no data rows")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(row)} fields but the header has {len(header)}"
            )
    columns = {
        name: [None if cell.strip().lower() in MISSING else cell.strip() for cell in column]
        for name, column in zip(header, zip(*body, strict=True), strict=True)
    }
    return Table(path, columns)


def parse_numbers(values: list[str | None]) -> np.ndarray | None:
    """Values as float64 with NaN for missing ones, or `None` if any value is not a number."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            number = float(value)
        except ValueError:
            return None
        if math.isfinite(number):
            out[i] = number
    return out
