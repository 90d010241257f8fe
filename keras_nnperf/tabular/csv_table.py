"""Reading a CSV file into text columns: delimiter, decimal mark and missing-value spellings."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from keras_nnperf.tabular.comments import is_comment_row, leading_comments, uncommented
from keras_nnperf.tabular.durations import duration_columns
from keras_nnperf.tabular.errors import DataError, DataWarning
from keras_nnperf.tabular.file_formats import source_text
from keras_nnperf.tabular.names import name_list, names_by_value
from keras_nnperf.tabular.none_level import NONE_WORDS, none_is_a_level
from keras_nnperf.tabular.quoted import quoted_number_columns
from keras_nnperf.tabular.short_rows import padded_short_rows
from keras_nnperf.tabular.spreadsheet import summary_rows, table_lines, units_rows

#: Excel's error values, which a spreadsheet exports where a formula failed (`#N/A` from a
#: lookup, `#DIV/0!`): missing, as pandas reads `#N/A`.
EXCEL_ERRORS = frozenset(
    {"#n/a", "#n/a n/a", "#na", "#div/0!", "#value!", "#ref!", "#name?", "#num!", "#null!"}
)

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"}) | EXCEL_ERRORS

#: The markers of `MISSING` in mixed case that still mean missing (pandas reads `NaN` and `None`).
_MIXED_CASE_MISSING = frozenset({"NaN", "None", "Null"})


def is_missing(cell: str) -> bool:
    """Whether a cell's text is a missing-value marker of `MISSING`.

    A marker counts in lower case, upper case or one of its usual mixed-case spellings (`NaN`,
    `None`, `Null`), not in any case: `Na` is sodium (smact's table of ionic radii lists it among
    the element symbols, where reading it as missing lost sodium's rows' element), as it is for
    pandas, whose markers are case-sensitive.
    """
    text = cell.strip()
    lower = text.lower()
    return lower in MISSING and (text in (lower, text.upper()) or text in _MIXED_CASE_MISSING)


#: The delimiters `read_csv` recognizes; anything else is read as a comma-separated file.
DELIMITERS = ",;\t|"

#: The delimiter `detect_delimiter` returns for a file whose fields are separated by runs of
#: spaces, as R's `write.table`, UCI's `.data` and UCR's `.txt` files are.
WHITESPACE = " "

#: How much of the file `csv.Sniffer` looks at to guess the delimiter.
SNIFF_CHARS = 65536

# A number written with a decimal comma, optionally with dots grouping thousands:
# `1,5`  `-0,25`  `1.234,5`  `12`  `,5`  `1,5e-3`.
_COMMA_NUMBER = re.compile(
    r"[+-]?(?:(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?", re.ASCII
)


# A number with commas grouping thousands, as spreadsheets write it in comma files: `1,234`,
# `-12,345,678.5`. Groups of exactly three digits, so `1,5` (a decimal comma) never matches,
# and no leading zero: `0,072` is no one's way of writing 72 (causalpy's nevo table quotes
# decimal commas in a comma file, `"0,072"`, and was read as 72).
_THOUSANDS_NUMBER = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
# Only thousands can be read from these: two groups, or a decimal point after the group.
_ONLY_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:(?:,\d{3}){2,}(?:\.\d+)?|,\d{3}\.\d+)", re.ASCII)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

# A percentage: `12%`, `-0.5 %`, `1e2%`.
_PERCENT = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*%", re.ASCII)
# A percentage with a decimal comma, in a file not separated by commas: `12,5 %`.
_COMMA_PERCENT = re.compile(r"([+-]?(?:\d+(?:,\d*)?|,\d+))\s*%", re.ASCII)

# A negative number as accountants write it, in parentheses: `(5.00)`, `(1,234.50)`.
_PARENTHESES = re.compile(r"\(\s*([^()\s+-][^()]*?)\s*\)")

#: The currency signs `read_csv` strips from amounts of money.
CURRENCY_SIGNS = "$€£¥₹"

# An amount of money: one currency sign before or after a number, the sign of the number on
# either side of it, or accounting's parentheses for a negative amount: `$1,234.50`, `-$5`,
# `$-5`, `€ 12,50`, `12,50 €`, `($5.00)`. The number part is read by the rules for numbers.
_MONEY = re.compile(
    rf"(?P<open>\()?(?P<pre>[+-]?)\s*(?P<lead>[{CURRENCY_SIGNS}])?\s*(?P<number>[+-]?[\d.,]*\d[\d.,]*)"
    rf"\s*(?P<trail>[{CURRENCY_SIGNS}])?(?(open)\))"
)

# A character no plain number holds, and a cell of a number's signs without a digit (`-`,
# `.`), in cells joined by line breaks.
_NOT_PLAIN_NUMBER = re.compile(r"[^0-9.eE+\-\n]")
_NUMBER_SIGNS_ALONE = re.compile(r"^[.eE+\-]+$", re.MULTILINE)

# What other locales write inside numbers: a space, a no-break space (U+00A0), a narrow one
# (U+202F, French), a thin one (U+2009) or an apostrophe (Swiss `1'234`, or `1’234`) between
# groups of three digits, and the minus sign U+2212 (`−5`, copied from the web or a PDF).
_GROUP_MARK = re.compile("(?<=\\d)[ \u00a0\u202f\u2009'\u2019](?=\\d{3}(?!\\d))")
_LOCALE_SIGN = re.compile("[ \u00a0\u202f\u2009'\u2019\u2212]")
# In a whole file: a mark other than a plain space (rare in any text), or a space grouping
# digits. One scan tells most files they have none, before any column is looked at.
_LOCALE_MARKS = "\u00a0\u202f\u2009'\u2019\u2212"
_SPACE_GROUP = re.compile(r"\d \d{3}(?!\d)")

# A number and its unit: `1248 CC`, `74.5 bhp`, `16.08 kmpl`, `12,5 kg`, `3 km/h`, `20 °C`;
# or a missing-value word with the unit, `null bhp`. The unit starts with a letter (or `°`,
# `µ`, `Ω`) and holds no digit or space, so `2012 Q1`, `10 485` and `Rue 10` never match.
_UNIT = re.compile(
    rf"(?:(?P<money>[{CURRENCY_SIGNS}])?\s*"
    r"(?P<number>[+-]?[\d.,]*\d[\d.,]*(?:[eE][+-]?\d+)?)\s*|(?P<word>[A-Za-z/]+)\s+)"
    r"(?P<unit>[A-Za-z\u00b0\u00b5\u03a9][A-Za-z\u00b0\u00b5\u03a9/\u00b2\u00b3.]{0,11})"
)
# Times of day and ordinals are no units (`10 am`, `1st`, `2nd`).
_NOT_UNITS = frozenset({"am", "pm", "a.m.", "p.m.", "st", "nd", "rd", "th"})
_NUMBER_THEN_LETTER = re.compile(r"\d\s*[A-Za-z\u00b0\u00b5\u03a9]")
_DIGIT = re.compile(r"\d")

#: The magnitude suffixes `read_csv` multiplies out (`1.2K` as 1200), as scraped counts and
#: amounts write them (views, followers, market values). Lowercase `m` is left alone: metres,
#: minutes or millions.
MAGNITUDES = {"k": 1e3, "K": 1e3, "M": 1e6, "mn": 1e6, "B": 1e9, "bn": 1e9, "T": 1e12}

# A bound: `85+`, `<5`, `< 0.5`, `>=10`, `≤ 3`. A plus sign in front (`+5`) is a sign.
_BOUND = re.compile(
    r"(?:<=|>=|[<>\u2264\u2265])\s*(?P<limit>[+-]?[\d.,]*\d[\d.,]*(?:[eE][+-]?\d+)?)"
    r"|(?P<topped>[\d.,]*\d[\d.,]*)\s*\+"
)
_BOUND_MARK = re.compile(r"\d\s*\+|[<>\u2264\u2265]\s*[+-]?[\d.,]")

# Excel's first line naming the delimiter: `sep=;`.
_SEP_LINE = re.compile(r"sep=(.)\r?\n")


@dataclass
class Table:
    """A CSV file as text columns: `columns[name][row]` is a string, or `None` when missing.

    Attributes:
        path: The file.
        columns: Column name -> cells, in file order.
        delimiter: The delimiter the file was read with.
        decimal_comma: Names of the columns whose decimal commas were turned into points.
        missing_words: Column name -> the one word read as missing among its numbers (`-`).
        quoted_numbers: Names of the columns of numbers the file writes in quotes while it
            leaves other numbers bare, as R writes factors (`quoted.quoted_number_columns`).
        none_levels: Names of the columns whose word `None` was read as a level, not missing
            (`none_level.none_is_a_level`).
    """

    path: str
    columns: dict[str, list[str | None]]
    delimiter: str = ","
    decimal_comma: tuple[str, ...] = ()
    missing_words: dict[str, str] = field(default_factory=dict)
    quoted_numbers: tuple[str, ...] = ()
    none_levels: tuple[str, ...] = ()

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
        return Table(
            self.path,
            {k: [v[i] for i in rows] for k, v in self.columns.items()},
            self.delimiter,
            self.decimal_comma,
            dict(self.missing_words),
            self.quoted_numbers,
            self.none_levels,
        )


def detect_delimiter(text: str) -> str:
    """The delimiter of a CSV text: `,` `;` tab or `|`, guessed by `csv.Sniffer` on a sample.

    The sniffer's guess is kept if it splits the header into two or more fields and every
    sampled row into as many fields as the header. Otherwise (or when the sniffer cannot decide,
    as with ragged rows) the candidate that occurs most often in the header line wins, `,` on a
    tie; a ragged file then gets a clear "line N has M fields" error. When none occurs in the
    header line, `WHITESPACE` if every sampled line splits on runs of spaces into as many
    fields (`_is_whitespace_separated`), else `,`.
    """
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    if sample.lstrip().startswith("#"):
        # Comments above the table (see `comments`): a note's commas, or NumPy's `# a b c`
        # header, would decide the delimiter for the rows.
        lines = sample.splitlines(keepends=True)
        skip = next((i for i, line in enumerate(lines) if not line.lstrip().startswith("#")), 0)
        sample = "".join(lines[skip:]) or sample
    sniffed = _sniffed(sample) or _delimiter_below_preamble(sample)
    if sniffed == "\t" and _tabs_among_spaces(sample):
        return WHITESPACE
    if sniffed is not None:
        return sniffed
    header = sample.partition("\n")[0]
    counts = [header.count(d) for d in DELIMITERS]
    if max(counts):
        return DELIMITERS[counts.index(max(counts))]
    return WHITESPACE if _is_whitespace_separated(sample) else ","


def _delimiter_below_preamble(sample: str) -> str | None:
    """The delimiter of the lines from the first holding one, when the lines above hold none.

    Loggers' and wind-analysis exports open with a preamble of notes and blank lines (Windographer:
    `Created 10-05-2019 14:36 by Windographer 4.1.14`, `Latitude = N 0.000000`, twelve lines
    above a tab-separated table), so the first line, which decides the delimiter otherwise, has
    none: the file was read as one column of commas. The lines below decide when the sniffer
    splits them all into as many fields, two or more; the preamble is then a title left out by
    `spreadsheet`. `None` when the first line holds a delimiter, or no line does (runs of spaces).
    """
    lines = sample.splitlines(keepends=True)
    if not lines or any(d in lines[0] for d in DELIMITERS):
        return None
    start = next((i for i, line in enumerate(lines) if any(d in line for d in DELIMITERS)), None)
    if start is None:
        return None
    return _sniffed("".join(lines[start:]), min_rows=2)


def _sniffed(sample: str, min_rows: int = 1) -> str | None:
    """`csv.Sniffer`'s delimiter for `sample` if it splits it into a table, else `None`.

    A table: at least `min_rows` rows, the first of two fields or more, and every row but the
    last (maybe cut by the sample's end) as wide.
    """
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
        rows = [row for row in csv.reader(io.StringIO(sample), delimiter=guess) if row]
    except csv.Error:
        return None
    if len(rows) >= min_rows and len(rows[0]) >= 2:
        if all(len(r) == len(rows[0]) for r in rows[1:-1]):
            return guess
    return None


def _whitespace_rows(lines) -> list[list[str]]:
    """The rows of lines whose fields are separated by runs of spaces or tabs, quotes respected."""
    return list(csv.reader(_spaced(lines), delimiter=" ", skipinitialspace=True))


def _spaced(lines):
    """Each line stripped, its tabs made spaces: a field separator in a whitespace file."""
    return (line.strip().replace("\t", " ") for line in lines)


def _tabs_among_spaces(sample: str) -> bool:
    r"""Whether a tab-sniffed sample separates its fields by tabs and runs of spaces alike.

    Fortran-era model grids (hoki's BPASS tables) write `  1 -3.5<tab>0.0   6.00  4.27E+039 ...`:
    one tab per line, so the sniffer splits every line in two at it, and the table was two
    columns of number lists. pandas reads such a file with `sep=r"\s+"`. The sample is read so
    when some tab-separated cell holds several numbers apart (`1 -3.5`), every cell holding a
    space is such numbers (`New York<tab>12` is a tab file), and the lines split on runs of
    whitespace into one width, header included.
    """
    lines = [line for line in sample.splitlines() if line.strip()]
    cells = [cell.strip() for line in lines[1:] for cell in line.split("\t")]
    spaced = [cell.split() for cell in cells if " " in cell]
    if not spaced or not all(_PLAIN_NUMBER.fullmatch(n) for parts in spaced for n in parts):
        return False
    widths = {len(row) for row in _whitespace_rows(lines[:-1] if len(lines) > 2 else lines)}
    return len(widths) == 1 and widths.pop() >= 2


def _is_whitespace_separated(sample: str) -> bool:
    """Whether every line of `sample` splits on runs of spaces into as many fields (two or more).

    The header may hold one field fewer: R's `write.table` names no column for its row names.
    One line of free text, or a one-column file whose name has a space, splits unevenly; and
    some column other than the row names must hold plain numbers only, or a file of one column
    of `2011/06/01 03:00` under a header `order date` (a file to predict) would split in two.
    """
    rows = [row for row in _whitespace_rows(sample.splitlines()) if row]
    if len(rows) < 2 or any(line.count('"') % 2 for line in sample.splitlines()):
        return False
    width = len(rows[1])
    if not (
        width >= 2
        and len(rows[0]) in (width, width - 1)
        and len(rows[0]) >= 2
        and all(len(row) == width for row in rows[2:])
    ):
        return False
    first = width - len(rows[0])  # 1 past the row names, if the header has none over them
    return any(
        all(_PLAIN_NUMBER.fullmatch(cell) or is_missing(cell) for cell in column)
        for column in list(zip(*rows[1:], strict=True))[first:]
    )


def _is_comma_number(cell: str) -> bool:
    if _COMMA_NUMBER.fullmatch(cell):
        return True
    try:
        return not math.isfinite(float(cell))  # inf, -inf: a number, handled later
    except ValueError:
        return False


def _from_decimal_comma(cell: str) -> str:
    return cell.replace(".", "").replace(",", ".")


def read_csv(
    path: str,
    min_columns: int = 2,
    decimal_comma: bool | None = None,
    none_levels: Iterable[str] | None = None,
) -> Table:
    """Read a delimited text file with a header row, as spreadsheets and pandas write them.

    The source becomes text in `file_formats`: a gzip, bz2, xz, one-file zip or tar file is read as
    the CSV inside; a JSON table (records, lines, pandas' columns or split) as its CSV
    (`json_records`); a pandas `DataFrame` as the CSV its `to_csv` writes (`frame_text`), so a
    notebook's table meets the same rules as a file. The delimiter is detected (`detect_delimiter`:
    runs of spaces too), or read from Excel's `sep=;` first line. Rows that all have one field more
    than the header start with their names (R's `write.table`): that field is column `Unnamed: 0`.
    The text is UTF-8 (with or without a byte-order mark), UTF-16 with its byte-order mark, or else
    Windows-1252, Excel's encoding on Western Windows systems, with a `DataWarning`. A header column
    with no name and no value in any row (a delimiter at the end of every line) is left out with a
    `DataWarning`. Columns are read as numbers, with a `DataWarning` naming them, when their present
    cells are all

    * numbers written with a decimal comma (`1,5`; dots may group thousands: `1.234,5`), at
      least one of them with a comma, in a file not delimited by commas;
    * numbers with commas grouping thousands (`1,234`, `12,345.5`; quoted, in a comma file),
      at least one of them with a comma, in a file delimited by commas; but quoted numbers with
      a decimal comma when the file shows that convention (`"0,0124"`, `"2,5"`: a cell that
      cannot group thousands, and none that can only; `_quotes_decimal_commas`);
    * percentages (`12%`, read as 0.12);
    * amounts of money in one currency (`$1,234.50`, `-$5`, `($5.00)`, `12,50 €`: the sign
      stripped, then read by the two rules above);
    * numbers followed by one unit (`1248 CC`, `74 bhp`; `null bhp` missing), the unit
      stripped, or by magnitudes (`1.2K`, `3M`), multiplied out (`_strip_units`);
    * numbers some of which are bounds (`90+`, `<5`, `>= 100`), read as their number
      (`_strip_bounds`).

    Args:
        path: The file, or a pandas `DataFrame`.
        min_columns: The fewest columns the file may have: 2 for training (features and a
            target), 1 for a file to predict (one feature column, no target, is a whole file).
        decimal_comma: For a comma file's quoted numbers: `None` lets the file decide (see
            above), `True` reads their commas as decimal marks whatever the file shows (a file
            to predict, after training on a file that did), `False` as grouping thousands.
        none_levels: The columns whose word `None` is a level, not missing: `None` lets each
            column decide (`none_level.none_is_a_level`: a column of words, with a
            `DataWarning`), names decide for a file to predict (the training file's columns).

    Returns:
        A `Table` (its `path` "the DataFrame" for a frame).

    Raises:
        DataError: for a missing, unreadable, empty, binary or ragged file, or a bad header.
        ValueError: for `min_columns` other than 1 or 2.
    """
    if min_columns not in (1, 2) or isinstance(min_columns, bool):
        raise ValueError(f"Argument min_columns must be 1 or 2. Received: {min_columns!r}")
    text, path = source_text(path)
    named = _SEP_LINE.match(text)
    if named:
        text = text[named.end() :]
    delimiter = named.group(1) if named else detect_delimiter(text)
    lines, line_numbers = [], []  # the file's line of each row, for messages
    try:
        if delimiter == WHITESPACE:
            # Runs of spaces (tabs among them) separate fields, and spaces before the first or
            # after the last field are none (aligned columns): each line is stripped, then split.
            stream = _spaced(io.StringIO(text, newline=None))
            reader = csv.reader(stream, delimiter=" ", skipinitialspace=True, strict=True)
        else:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        for row in reader:
            if row:
                lines.append(row)
                line_numbers.append(reader.line_num + (1 if named else 0))
    except csv.Error as err:
        raise DataError(f"{path} is not a valid CSV file: {err}") from None
    if not lines:
        raise DataError(f"{path} is empty")
    name = os.path.basename(path)
    # Comments (`#`) above the header; NumPy's `savetxt` writes the header itself so.
    comments, commented_header = leading_comments(lines, lambda row: _is_data_line(row, delimiter))
    if comments:
        what = "the last one read as the header" if commented_header else "left out"
        _warn(
            f"{name}: {comments} comment line(s) starting with # above the table, {what} "
            f"(the first: # {_shown(uncommented(lines[0]))[1:-1]})"
        )
        lines, line_numbers = lines[comments:], line_numbers[comments:]
        if commented_header:
            lines, line_numbers = [commented_header, *lines], [line_numbers[0] - 1, *line_numbers]
    # A spreadsheet's title above the header and notes below the table are no rows.
    start, end = table_lines(lines)
    for where, skipped in (
        ("above the header (a title, notes or metadata)", lines[:start]),
        ("below the table (notes)", lines[end:]),
    ):
        if skipped:
            _warn(
                f"{name}: left out {len(skipped)} line(s) {where}, the first {_shown(skipped[0])}"
            )
    lines, line_numbers = lines[start:end], line_numbers[start:end]
    lines, unnamed = _without_empty_unnamed_columns(lines)
    header = [name.strip() for name in lines[0]]
    first_row = 1  # where the rows start in `lines`: after the header
    if (
        _is_data_line(header, delimiter)
        or _repeated_below(lines, delimiter)
        or _whole_numbers_of_data(lines)
    ):
        # UCI's `.data` files (iris: `5.1,3.5,1.4,0.2,Iris-setosa`) have no header at all.
        _warn(
            f"{name}: its first line looks like data, not a header ({', '.join(header[:4])}"
            f"{', ...' if len(header) > 4 else ''}): columns named column_1 ... "
            f"column_{len(header)}; add a header row to name them"
        )
        header, first_row = [f"column_{i + 1}" for i in range(len(header))], 0
    if len(header) < min_columns:
        raise DataError(
            f"{path} has a single column; a CSV for nnperf needs feature columns and a target "
            "column separated by commas (or semicolons, tabs, | or runs of spaces)"
        )
    # pandas' `DataFrame.to_csv()` writes its index as a first column with no name: named as
    # pandas reads it back, `Unnamed: 0`, it is then left out as an ID (`id_columns`).
    unnamed_over_values = [i for i, name in enumerate(header) if not name]
    for i in unnamed_over_values:
        header[i] = f"Unnamed: {i}"
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        # As pandas reads them (`a`, `a.1`, `a.2`): an export may repeat a heading (two
        # `Notes` columns); refusing the file left the user to rename by hand.
        header = _numbered_repeats(header)
        _warn(
            f"{name}: column name(s) repeated in the header, the repeats numbered as pandas "
            f"does ({duplicates[0]!r}, {duplicates[0] + '.1'!r}, ...): {name_list(duplicates)}"
        )
    body, body_lines = lines[first_row:], line_numbers[first_row:]
    if first_row:
        # Files joined with their headers (`cat a.csv b.csv`, a loop of exports): the header
        # again among the rows made each column's name a value: a number column text, the
        # target's name a class of its own.
        written = [cell.strip() for cell in lines[0]]
        repeats = [i for i, row in enumerate(body) if [c.strip() for c in row] == written]
        if repeats:
            _warn(
                f"{name}: left out {len(repeats)} repeat(s) of the header among the rows (files "
                f"joined with their headers?) at line(s) {_line_list(body_lines, repeats)}"
            )
            left_out = set(repeats)
            kept = [i for i in range(len(body)) if i not in left_out]
            body, body_lines = [body[i] for i in kept], [body_lines[i] for i in kept]
    if not body:
        raise DataError(f"{path} has a header but no data rows")
    if first_row and all(len(row) == len(header) + 1 for row in body):
        # R's `write.table` and `write.csv(..., col.names = NA)`-less exports name every column
        # but the row names; pandas and R read the extra first field as the row names.
        header = ["Unnamed: 0", *header]
        _warn(
            f"{name}: every row has one field more than the header; the first field read as "
            "the rows' names, column 'Unnamed: 0', as pandas and R read such a file"
        )
    noted = [i for i, row in enumerate(body) if len(row) != len(header) and is_comment_row(row)]
    if noted:
        # Notes among the rows (`# sensor restarted`); a `#tag` in a row of the table's width
        # is a value.
        shown = _line_list(body_lines, noted)
        _warn(
            f"{name}: left out {len(noted)} comment line(s) starting with # among the rows: {shown}"
        )
        left_out = set(noted)
        kept = [i for i in range(len(body)) if i not in left_out]
        body, body_lines = [body[i] for i in kept], [body_lines[i] for i in kept]
    # Warned about below, once lines of units or types are left out: Orange's line of flags is
    # one field long.
    body, short = padded_short_rows(body, body_lines, len(header), path)
    for number, row in zip(body_lines, body, strict=True):
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(row)} fields but the header has {len(header)}"
            )
    cells_by_column = dict(zip(header, zip(*body, strict=True), strict=True))
    if none_levels is None:
        # One scan of the text first: looking at every column's cells took 0.65 s of the 10.4 s
        # a 420,480-row file takes to read, and most files hold no None at all.
        words = []
        if any(word in text for word in NONE_WORDS):
            words = [
                n for n, cells in cells_by_column.items() if _none_is_a_level(cells, delimiter)
            ]
        if words:
            _warn(
                f"{name}: None read as a level (none of the others), not as missing, in "
                f"column(s) of words: {name_list(words)}"
            )
    else:
        words = [n for n in cells_by_column if n in set(none_levels)]
    columns = {
        column: _cells(cells, keep_none=column in words)
        for column, cells in cells_by_column.items()
    }
    # Totals first: a `Total` in a column hides that the column is numbers from `units_rows`.
    totals = summary_rows(columns, lambda cell: _is_number_like(cell, delimiter))
    rows_kept = list(range(len(body)))  # the index in `body` of each row of `columns`
    if totals:
        shown = ", ".join(f"{body_lines[i]} ({word!r})" for i, word in totals.items())
        _warn(
            f"{name}: left out {len(totals)} summary row(s) (the sum or mean of the rows "
            f"above, not data) at line(s) {shown}"
        )
        rows_kept = [i for i in range(len(body)) if i not in totals]
        if not rows_kept:
            raise DataError(f"{path} has only summary rows (totals) below its header")
        columns = {column: [cells[i] for i in rows_kept] for column, cells in columns.items()}
    if units := units_rows(columns, lambda cell: _is_number_like(cell, delimiter)):
        unit_rows = [body[i] for i in rows_kept[:units]]
        shown = "; ".join(" ".join(c for c in row if c.strip()) for row in unit_rows)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        _warn(f"{name}: left out {units} line(s) of units or types under the header: {shown}")
        columns = {column: cells[units:] for column, cells in columns.items()}
        unit_lines = {body_lines[i] for i in rows_kept[:units]}
        short = [number for number in short if number not in unit_lines]
    if short:
        _warn(
            f"{name}: {len(short)} line(s) have fewer fields than the header's {len(header)} "
            f"(line(s) {_line_list(short, range(len(short)))}); their last fields read as "
            "missing, as pandas and R read them"
        )
    if unnamed_over_values:
        _warn(
            f"{name}: column(s) {[i + 1 for i in unnamed_over_values]} of the header have no "
            f"name; read as {', '.join(repr(header[i]) for i in unnamed_over_values)}, as "
            "pandas does (its to_csv writes the index so)"
        )
    if unnamed:
        _warn(
            f"{name}: {len(unnamed)} header column(s) with no name and no value in any row (a "
            f"delimiter at the end of each line?) left out: column(s) {unnamed}"
        )
    has_locale = any(mark in text for mark in _LOCALE_MARKS) or _SPACE_GROUP.search(text)
    if has_locale and (locale := _locale_numbers(columns, delimiter)):
        _warn(
            f"{name}: numbers grouped by spaces or apostrophes (1 234, 1'234) or with the "
            f"minus sign \u2212 read as numbers: {name_list(locale)}"
        )
    if "(" in text and (negatives := _accounting_negatives(columns, delimiter)):
        _warn(
            f"{name}: negative numbers in parentheses, as accountants write them, read as "
            f"numbers ((5.00) as -5.00): {name_list(negatives)}"
        )
    if bounded := _strip_bounds(columns, delimiter):
        _warn(f"{name}: bounds read as their number (85+ as 85, <5 as 5): {name_list(bounded)}")
    units, magnified, mixed = _strip_units(columns, delimiter)
    if magnified:
        _warn(f"{name}: magnitudes multiplied out (1.2K as 1200): {name_list(magnified)}")
    if units:
        shown = ", ".join(f"{column} ({unit})" for column, unit in units.items())
        _warn(f"{name}: numbers with a unit read as numbers (1248 CC as 1248): {shown}")
    for column, spelled in mixed.items():
        _warn(
            f"{name}: column {column!r} holds numbers in {len(spelled)} units "
            f"({', '.join(spelled)}), left as text: convert them to one unit to use them as "
            "numbers"
        )
    missing_words = _placeholders(columns, delimiter)
    for token, names in names_by_value(missing_words).items():
        _warn(
            f"{name}: {token!r} among numbers read as missing (its own indicator column marks "
            f"it): {name_list(names)}"
        )
    converted, grouped = [], []
    has_money = any(sign in text for sign in CURRENCY_SIGNS)  # one scan; most files have none
    if has_money and (money := _strip_currency(columns)):
        _warn(f"{name}: amounts of money read as numbers ($1,234.50 as 1234.5): {name_list(money)}")
    if delimiter != ",":
        converted = _convert(columns, _is_comma_number, _from_decimal_comma, needs=",")
        if converted:
            _warn(
                f"{name} is {_DELIMITER_NAMES[delimiter]}-separated with decimal commas; read "
                f"as numbers: {name_list(converted)}"
            )
    elif decimal_comma or (decimal_comma is None and _quotes_decimal_commas(columns)):
        # Forced (a file to predict), a file of plain numbers has none to convert or name.
        if converted := _convert(columns, _is_comma_number, _from_decimal_comma, needs=","):
            _warn(
                f'{name}: numbers quoted with decimal commas ("0,5" as 0.5) read as numbers: '
                f"{name_list(converted)}"
            )
    elif grouped := _convert(columns, _is_grouped_number, _ungrouped, needs=","):
        _warn(
            f"{name}: numbers with commas grouping thousands (1,234) read as numbers: "
            f"{name_list(grouped)}"
        )
    percentage = _percentage if delimiter != "," else _PERCENT.fullmatch
    if percent := _convert(columns, percentage, _from_percent, needs="%"):
        _warn(f"{name}: percentages read as numbers (12% as 0.12): {name_list(percent)}")
    if ":" in text and (durations := duration_columns(columns)):
        _warn(
            f"{name}: durations read as numbers, in their last field's unit (12:19 as 739, "
            f"25:02 as 1502): {name_list(durations)}"
        )
    # Quoted because of their grouping commas (`"1,234"`), not as text: no factor.
    quoted = quoted_number_columns(text, delimiter, _PLAIN_NUMBER.fullmatch)
    quoted = [n for n in quoted if n in columns]
    quoted = tuple(n for n in quoted if n not in grouped)
    return Table(path, columns, delimiter, tuple(converted), missing_words, quoted, tuple(words))


def _none_is_a_level(cells, delimiter: str) -> bool:
    return none_is_a_level(cells, is_missing, lambda cell: _is_number_like(cell, delimiter))


def _cells(cells, keep_none: bool) -> list[str | None]:
    """Stripped text, `None` for a missing-value marker (the word None too unless `keep_none`)."""
    if not keep_none:
        return [None if is_missing(cell) else cell.strip() for cell in cells]
    texts = [cell.strip() for cell in cells]
    return [text if text in NONE_WORDS or not is_missing(text) else None for text in texts]


def _line_list(line_numbers: list[int], indices, shown: int = 5) -> str:
    """The line numbers at `indices`, the first `shown` of them, `...` after more."""
    indices = list(indices)
    listed = ", ".join(str(line_numbers[i]) for i in indices[:shown])
    return listed + (", ..." if len(indices) > shown else "")


def _shown(cells: list[str]) -> str:
    """A line's non-empty cells, joined and cut to 60 characters, quoted, for a message."""
    text = ", ".join(cell.strip() for cell in cells if cell.strip())
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _warn(message: str, depth: int = 0) -> None:
    # Shown at the line that called read_csv: `depth` more frames down from a helper of it.
    warnings.warn(message, DataWarning, stacklevel=3 + depth)


def _without_empty_unnamed_columns(lines: list[list[str]]) -> tuple[list[list[str]], list[int]]:
    """`lines` without header columns that have no name and no value in any row (1-based)."""
    header = lines[0]
    empty = [
        i
        for i, name in enumerate(header)
        if not name.strip()
        and all(len(row) == len(header) and not row[i].strip() for row in lines[1:])
    ]
    if not empty:
        return lines, []
    keep = [i for i in range(len(header)) if i not in empty]
    return [[row[i] for i in keep] for row in lines], [i + 1 for i in empty]


def _convert(columns: dict, matches, rewrite, needs: str) -> list[str]:
    """Rewrite in place the columns whose present cells all `matches`, one containing `needs`."""
    converted = []
    for name, cells in columns.items():
        present = [c for c in cells if c is not None]
        if any(needs in c for c in present) and all(matches(c) for c in present):
            columns[name] = [None if c is None else rewrite(c) for c in cells]
            converted.append(name)
    return converted


def _placeholders(columns: dict, delimiter: str) -> dict[str, str]:
    """Turn into `None`, in place, the one word that stands for "no number" in a number column.

    Surveys and statistics offices write `-`, `.`, `n.a.`, `unknown` or `refused` among the
    numbers. Before, that one word made the whole column text: a category per number, or an ID.
    A column qualifies when its present cells are numbers (by any rule `read_csv` reads) but
    for a single distinct text without digits, and numbers are at least half of them. The
    text then reads as missing: the column's missing-value indicator keeps what it meant.

    Returns:
        Column name -> the word read as missing there.
    """
    found: dict[str, str] = {}
    for name, cells in columns.items():
        # Most columns hold plain numbers only: two scans of their joined text tell.
        text = "\n".join(c for c in cells if c is not None)
        if not _NOT_PLAIN_NUMBER.search(text) and not _NUMBER_SIGNS_ALONE.search(text):
            continue
        others: dict[str, int] = {}
        numbers = 0
        for cell in cells:
            if cell is None:
                continue
            if _is_number_like(cell, delimiter):
                numbers += 1
            else:
                others[cell] = others.get(cell, 0) + 1
                if len(others) > 1:
                    break
        if len(others) != 1 or numbers < sum(others.values()):
            continue
        (token,) = others
        if any(ch.isdigit() for ch in token):  # `10+`, `<5`: a value, not a gap
            continue
        columns[name] = [None if c == token else c for c in cells]
        found[name] = token
    return found


def _numbered_repeats(header: list[str]) -> list[str]:
    """`header` with each repeat of a name numbered, `a`, `a.1`, `a.2`, skipping taken names."""
    taken, out = set(header), []
    seen: dict[str, int] = {}
    for column in header:
        if column not in seen:
            seen[column] = 0
            out.append(column)
            continue
        while True:
            seen[column] += 1
            candidate = f"{column}.{seen[column]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        out.append(candidate)
    return out


def _is_data_line(cells: list[str], delimiter: str) -> bool:
    """Whether a first line is a row of data rather than a header.

    At least half of its cells are numbers and one of them is not a whole number: column
    names may be years or counts (`country,1952,1957`), hardly `5.1` or `-0.25`, unless they
    step evenly (`_is_grid`): a spectrum's wavenumbers or wavelengths.
    """
    numbers = [c for c in cells if c and _is_number_like(c, delimiter)]
    return (
        2 * len(numbers) >= len(cells)
        and any(not c.isdigit() for c in numbers)
        and not _is_grid(numbers)
    )


#: Fewest numbers in a first line for `_is_grid` to read them as names.
GRID_MIN_NAMES = 5


def _is_grid(cells: list[str]) -> bool:
    """Whether plain numbers step evenly up or down, each step within 10% of their median.

    Spectra are written one column per wavenumber or wavelength, named by it: orange-spectroscopy's
    collagen table heads its 234 absorbances `1801.264,1797.407,1793.55,...` (3.857 apart), and
    the line was read as data, its columns named `column_1` ..., so `--target type` found
    nothing. A row of data seldom steps so evenly across five numbers or more.
    """
    try:
        numbers = np.array([float(cell) for cell in cells])
    except ValueError:
        return False
    if len(numbers) < GRID_MIN_NAMES or not np.all(np.isfinite(numbers)):
        return False
    steps = np.diff(numbers)
    middle = np.median(steps)
    return bool(middle != 0 and np.all(np.abs(steps - middle) <= 0.1 * abs(middle)))


#: How many rows `_repeated_below` looks through for the first line's values.
DATA_LINE_SAMPLE = 2000


def _repeated_below(lines: list[list[str]], delimiter: str) -> bool:
    """Whether every text cell of the first line is a value of its column in the rows below.

    UCI's `adult.data` starts `39, State-gov, 77516, Bachelors, ...`: its numbers are whole
    and fewer than half, so `_is_data_line` took it for a header, and `--target column_15`
    found no such column. A header's names (`workclass`) are not values of their own columns;
    this line's words (`State-gov`, `Male`, `<=50K`) are, in thousands of rows. Needs a text
    cell and five rows or more; looks at the first `DATA_LINE_SAMPLE` rows.
    """
    first = [cell.strip() for cell in lines[0]]
    text = [i for i, cell in enumerate(first) if cell and not _is_number_like(cell, delimiter)]
    return bool(text) and _values_below(lines, text)


def _values_below(lines: list[list[str]], columns) -> bool:
    """Whether the first line's cell in each of `columns` is a value of its column below.

    Looks through the first `DATA_LINE_SAMPLE` rows of the first line's width; needs five.
    """
    first = [cell.strip() for cell in lines[0]]
    rows = [  # repeats of the whole line are repeated headers (files joined), not data
        row
        for row in lines[1 : 1 + DATA_LINE_SAMPLE]
        if len(row) == len(first) and [cell.strip() for cell in row] != first
    ]
    if len(rows) < 5:
        return False
    return all(any(row[i].strip() == first[i] for row in rows) for i in columns)


_WHOLE_NUMBER = re.compile(r"[+-]?\d+", re.ASCII)


def _whole_numbers_of_data(lines: list[list[str]]) -> bool:
    """Whether a first line of whole numbers only is a row of data rather than names.

    UCI's Landsat file (`sat.trn`: `92 115 120 94 84 102 ... 3`, 37 pixel values and a class)
    has no header; `_is_data_line` keeps whole numbers as names (years: `1952,1957`), so its
    first row became 37 column names, `84` four times, and `--target column_37` found nothing.
    Names are given once each, and a column's name is seldom one of its own values: the line
    is data when a number repeats in it, or when each of its numbers is a value of its column
    in the rows below (five or more, as `_repeated_below`). Consecutive numbers from 0 or 1
    stay names: pandas writes `0,1,2,...` over a NumPy array's columns, surveys number their
    questions.
    """
    first = [cell.strip() for cell in lines[0]]
    if len(first) < 2 or not all(_WHOLE_NUMBER.fullmatch(cell) for cell in first):
        return False
    numbers = [int(cell) for cell in first]
    if numbers[0] in (0, 1) and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return False
    return len(set(numbers)) < len(numbers) or _values_below(lines, range(len(first)))


def _locale_numbers(columns: dict, delimiter: str) -> list[str]:
    """Rewrite in place the columns of numbers written with other locales' marks.

    Thousands grouped by spaces or apostrophes (`1 234`, `1 234,5` in a semicolon file,
    `1'234.5`) lose the marks, and the minus sign U+2212 becomes `-`. A column qualifies when
    at least one cell changes and its present cells are then numbers (by any rule `read_csv`
    reads) but for at most one word without digits (see `_placeholders`). Before, such a
    column was text: French and Swiss exports' amounts an ID, Wikipedia's `−5` a category.
    """
    converted = []
    for name, cells in columns.items():
        if not _LOCALE_SIGN.search("\n".join(c for c in cells if c is not None)):
            continue  # one scan of the joined text passes over most columns
        rewritten = [
            None if c is None else _GROUP_MARK.sub("", c).replace("\u2212", "-") for c in cells
        ]
        if rewritten == cells:
            continue
        if not _numbers_but_one_word(rewritten, delimiter):
            continue
        columns[name] = rewritten
        converted.append(name)
    return converted


def _numbers_but_one_word(cells, delimiter: str) -> bool:
    """Whether the present `cells` are numbers, but for at most one word without digits.

    That word is a placeholder for "no number" (see `_placeholders`).
    """
    words = {c for c in cells if c is not None and not _is_number_like(c, delimiter)}
    has_number = any(c is not None and c not in words for c in cells)
    return has_number and len(words) <= 1 and not any(ch.isdigit() for w in words for ch in w)


def _is_number_like(cell: str, delimiter: str) -> bool:
    # A number by any rule `read_csv` reads, before the rules rewrite it.
    try:
        float(cell)
        return True
    except ValueError:
        pass
    if _THOUSANDS_NUMBER.fullmatch(cell) or _PERCENT.fullmatch(cell):
        return True
    if delimiter != "," and (_COMMA_NUMBER.fullmatch(cell) or _COMMA_PERCENT.fullmatch(cell)):
        return True
    money = _MONEY.fullmatch(cell)
    return bool(money and (money["lead"] or money["trail"]) and _is_number_text(money["number"]))


def _strip_currency(columns: dict) -> list[str]:
    """Rewrite in place, without their sign, the columns of amounts in one currency.

    A column qualifies when every present cell is a number, at least one of them written with
    a currency sign, and all with the same sign (dollars beside euros are no one quantity).
    """
    converted = []
    for name, cells in columns.items():
        text = "".join(c for c in cells if c is not None)
        if not any(sign in text for sign in CURRENCY_SIGNS):  # most columns: one fast scan
            continue
        matches = [None if c is None else _MONEY.fullmatch(c) for c in cells]
        if any(
            m is None or not _is_number_text(m["number"])
            for m, c in zip(matches, cells, strict=True)
            if c is not None
        ):
            continue
        present = [m for m in matches if m is not None]
        signs = {m["lead"] or m["trail"] for m in present} - {None}
        if len(signs) != 1 or any(m["lead"] and m["trail"] for m in present):
            continue
        columns[name] = [None if m is None else _amount(m) for m in matches]
        converted.append(name)
    return converted


def _strip_units(columns: dict, delimiter: str) -> tuple[dict, list[str], dict]:
    """Rewrite in place, without their unit, the columns of numbers written with one unit.

    Scraped and exported tables write a quantity with its unit in every cell (Kaggle's used
    cars: `1248 CC`, `74 bhp`, `null bhp`). Read as text, such a column was a category per
    value or, nearly unique, an ID left out. A column qualifies when every present cell is a
    number (by the rules `read_csv` reads) followed by the same unit, any case, or a missing
    word (`null`, `NA`) with it, which reads as missing; one other word without digits may
    stand among them (`-`), left for `_placeholders`. Magnitudes (`950`, `1.2K`, `3M`,
    `2.5B`, `1bn`: `MAGNITUDES`) are multiplied out, bare numbers among them too, and so are
    amounts in one currency (FIFA's player values `€110.5M`, wages `€565K`, `€0`: the sign
    then left for `_strip_currency`). A column of
    one quantity in several units (`16.08 kmpl` and `27.12 km/kg`) stays text: 5 g beside
    5 kg is no one scale.

    Returns:
        Column name -> its unit, for the columns rewritten without it; the names of the columns
        whose magnitudes were multiplied out; column name -> the units, for the columns of
        numbers in several units (left as they are).
    """
    converted, magnified, mixed = {}, [], {}
    for name, cells in columns.items():
        text = "\n".join(c for c in cells if c is not None)
        if not _NUMBER_THEN_LETTER.search(text):  # most columns: one scan tells
            continue
        matches, bare, words = [], False, set()
        for cell in cells:
            match = None if cell is None else _UNIT.fullmatch(cell)
            matches.append(match)
            if cell is None or match is not None:
                continue
            if _is_number_like(cell, delimiter):
                bare = True
            elif not _DIGIT.search(cell):
                words.add(cell)
            else:
                break
        else:
            present = [m for m in matches if m is not None]
            if len(words) > 1 or not present or any(_not_a_unit(m, delimiter) for m in present):
                continue
            spelled = list(dict.fromkeys(m["unit"] for m in present))
            magnitudes = all(unit in MAGNITUDES for unit in spelled)
            money = {m["money"] for m in present} - {None}
            if money and (len(money) > 1 or not magnitudes):
                continue  # `€110.5M` and `€565K` are amounts; `$5 kg` is nothing known
            if magnitudes and (bare or len(spelled) > 1 or money):
                columns[name] = [
                    _times_magnitude(m, delimiter) if m is not None else c
                    for m, c in zip(matches, cells, strict=True)
                ]
                magnified.append(name)
            elif bare:
                continue  # `12 kg` beside `15`: which unit is `15` in?
            elif len({unit.lower() for unit in spelled}) > 1:
                mixed[name] = spelled
            elif any(m["number"] is not None for m in present):  # not `NA kg` throughout
                columns[name] = [
                    c if m is None else m["number"] for m, c in zip(matches, cells, strict=True)
                ]
                converted[name] = spelled[0]
    return converted, magnified, mixed


def _not_a_unit(match: re.Match, delimiter: str) -> bool:
    # A time of day or an ordinal, a word that is no missing value, or no number.
    if match["unit"].lower() in _NOT_UNITS:
        return True
    if match["word"] is not None:
        return not is_missing(match["word"])
    return not _is_number_like(match["number"], delimiter)


def _times_magnitude(match: re.Match, delimiter: str) -> str | None:
    # `1.2K` as 1200: the number read by the rules for numbers, then multiplied.
    if match["number"] is None:
        return None
    number = match["number"]
    if delimiter != "," and "," in number and _COMMA_NUMBER.fullmatch(number):
        number = _from_decimal_comma(number)
    return repr(float(_ungrouped(number)) * MAGNITUDES[match["unit"]])


def _strip_bounds(columns: dict, delimiter: str) -> list[str]:
    """Rewrite in place the columns of numbers some of which are bounds: `85+`, `<5`, `>= 10`.

    Census tables top-code ages (`90+`), public-health tables suppress small counts (`<5`),
    laboratories report values below detection (`<0.5`). Read as text, the whole column was a
    category per value. A column qualifies when its present cells are numbers, at least one
    with a trailing `+` or a leading `<`, `>`, `<=`, `>=`, `≤` or `≥`, but for at most one word
    without digits (left for `_placeholders`); each bound reads as its number.
    """
    converted = []
    for name, cells in columns.items():
        text = "\n".join(c for c in cells if c is not None)
        if not _BOUND_MARK.search(text):
            continue
        rewritten, words, bounds = [], set(), 0
        for cell in cells:
            match = None if cell is None else _BOUND.fullmatch(cell)
            number = None if match is None else match["limit"] or match["topped"]
            if number is not None and _is_number_like(number, delimiter):
                bounds += 1
                rewritten.append(number)
            elif cell is None or _is_number_like(cell, delimiter):
                rewritten.append(cell)
            elif not _DIGIT.search(cell):
                words.add(cell)
                rewritten.append(cell)
            else:
                break
        else:
            if bounds and len(words) <= 1:
                columns[name] = rewritten
                converted.append(name)
    return converted


def _is_number_text(text: str) -> bool:
    # A number by one of the rules `read_csv` reads: plain, commas grouping thousands, or a
    # decimal comma (with dots grouping thousands).
    return any(p.fullmatch(text) for p in (_PLAIN_NUMBER, _THOUSANDS_NUMBER, _COMMA_NUMBER))


def _amount(match: re.Match) -> str:
    # The number part, negated for a minus before the sign or accounting's parentheses.
    number = match["number"]
    if match["open"] or match["pre"] == "-":
        number = number[1:] if number.startswith("-") else "-" + number.lstrip("+")
    return number


def _quotes_decimal_commas(columns: dict) -> bool:
    """Whether a comma file's quoted numbers use the comma as their decimal mark.

    `"2,000"` reads either way, so the file decides: yes when some column of comma numbers has
    a cell that cannot group thousands (`"0,0124"`, `"2,5"`, `"-0,216"`), and no column of
    grouped numbers has one that can only (`"1,234,567"`, `"1,234.5"`). A file keeps one
    convention, so its ambiguous columns then read as decimals too.
    """
    decimal = False
    for cells in columns.values():
        with_comma = [c for c in cells if c is not None and "," in c]
        if not with_comma:
            continue
        present = [c for c in cells if c is not None]
        if any(_ONLY_THOUSANDS.fullmatch(c) for c in with_comma) and all(
            _is_grouped_number(c) for c in present
        ):
            return False
        if not decimal and all(_is_comma_number(c) for c in present):
            decimal = any(not _THOUSANDS_NUMBER.fullmatch(c) for c in with_comma)
    return decimal


def _is_grouped_number(cell: str) -> bool:
    return bool(_THOUSANDS_NUMBER.fullmatch(cell) or _PLAIN_NUMBER.fullmatch(cell))


def _ungrouped(cell: str) -> str:
    return cell.replace(",", "")


def _percentage(cell: str):
    return _PERCENT.fullmatch(cell) or _COMMA_PERCENT.fullmatch(cell)


def _from_percent(cell: str) -> str:
    match = _PERCENT.fullmatch(cell) or _COMMA_PERCENT.fullmatch(cell)
    return repr(float(match.group(1).replace(",", ".")) / 100)


def _accounting_negatives(columns: dict, delimiter: str) -> list[str]:
    """Rewrite in place the columns with negatives in parentheses: `(5.00)` as `-5.00`.

    A column qualifies when it holds a number in parentheses and one without, and its present
    cells are then numbers (by any rule `read_csv` reads) but for at most one word without
    digits. Accountants and finance exports write negatives so; with a currency sign the
    amounts-of-money rule reads them too.
    """
    converted = []
    for name, cells in columns.items():
        if "(" not in "\n".join(c for c in cells if c is not None):
            continue
        rewritten, inside = [], 0
        for cell in cells:
            match = None if cell is None else _PARENTHESES.fullmatch(cell)
            if match and _is_number_like(match[1], delimiter):
                rewritten.append("-" + match[1])
                inside += 1
            else:
                rewritten.append(cell)
        plain = [c for c, r in zip(cells, rewritten, strict=True) if c is not None and c == r]
        if not inside or not _numbers_but_one_word(plain, delimiter):
            continue
        columns[name] = rewritten
        converted.append(name)
    return converted


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}


def parse_numeric(values: list[str | None]) -> tuple[np.ndarray, int] | None:
    """Values as float64 and the number of non-finite cells, or `None` if any is not a number.

    Missing cells, and cells that parse to a non-finite number (`inf`, `-inf`, or a value such
    as `1e999` beyond float64), become NaN; the second element counts the latter.
    """
    out = np.full(len(values), np.nan)
    nonfinite = 0
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            number = float(value)
        except ValueError:
            return None
        if math.isfinite(number):
            out[i] = number
        else:
            nonfinite += 1
    return out, nonfinite


def parse_numbers(values: list[str | None]) -> np.ndarray | None:
    """Values as float64, NaN for missing or non-finite ones; `None` if any is not a number."""
    parsed = parse_numeric(values)
    return None if parsed is None else parsed[0]
