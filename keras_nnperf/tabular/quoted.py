"""Columns of numbers that the file writes in quotes, as R writes its factors.

R's `write.csv` quotes character and factor columns and leaves numeric ones bare, and pandas'
`to_csv(quoting=QUOTE_NONNUMERIC)` does the same: in such a file `"9130"` says the author
stored the column as text, a code or a category, although every cell reads as a number
(dowhy's cps2015 writes its occupation and industry codes so; R's `cake` its replicate and
temperature factors). A reader sees numbers either way; this module finds the columns so the
user can be told (`read_training_table`'s advice to pass `--categorical`).

A file that quotes every field (`QUOTE_ALL`) says nothing about any column, so quotes count
only when the file also has a column of bare numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Callable

#: Data lines looked at after the header; enough to see a column's habit, cheap on any file.
SAMPLE_LINES = 200
#: Characters of the text that hold them (a line longer than 10,000 is rare).
SAMPLE_CHARS = 2_000_000


def quoted_number_columns(
    text: str, delimiter: str, is_number: Callable[[str], bool]
) -> tuple[str, ...]:
    """Names of the columns whose present cells are all numbers, all written in quotes.

    The header is the text's first line. A data line is read twice, by the CSV rules and
    split at every delimiter with its quotes kept; a line whose two readings differ in length
    (a quoted delimiter inside a field) is skipped. A line with one field more than the
    header starts with R's row names (`write.table`) and is read without it.

    Args:
        text: The file's text, header first.
        delimiter: Its delimiter; runs of spaces (`" "`) give none (such files are aligned,
            not quoted).
        is_number: Whether a cell, stripped, is a plain number (the reader's own rule, so
            both agree on what a number is).

    Returns:
        The names, in file order; empty unless the file also has a column of bare numbers.
    """
    if len(delimiter) != 1 or delimiter == " ":
        return ()
    # A prefix, not the whole text: a file of millions of rows is not copied for 200 lines.
    lines = text[:SAMPLE_CHARS].splitlines()[: SAMPLE_LINES + 1]
    if len(lines) < 2:
        return ()
    header = [name.strip() for name in next(csv.reader([lines[0]], delimiter=delimiter))]
    quoted = [True] * len(header)  # every present cell so far a quoted number
    bare = [True] * len(header)  # every present cell so far a bare number
    present = [False] * len(header)
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = next(csv.reader([line], delimiter=delimiter), [])
        raw = line.split(delimiter)
        if len(cells) != len(raw):
            continue
        if len(cells) == len(header) + 1:  # R's row names first
            cells, raw = cells[1:], raw[1:]
        if len(cells) != len(header):
            continue
        for i, (cell, field) in enumerate(zip(cells, raw, strict=True)):
            if not cell.strip() or cell.strip() == "NA":
                continue
            present[i] = True
            number = bool(is_number(cell.strip()))
            written_quoted = field.strip().startswith(('"', "'"))
            quoted[i] = quoted[i] and number and written_quoted
            bare[i] = bare[i] and number and not written_quoted
    if not any(b and p for b, p in zip(bare, present, strict=True)):
        return ()
    return tuple(
        name for name, q, p in zip(header, quoted, present, strict=True) if q and p and name
    )
