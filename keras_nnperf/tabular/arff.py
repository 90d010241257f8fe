"""Weka's ARFF files (Attribute-Relation File Format), turned into the CSV text `read_csv` reads.

OpenML serves its datasets as ARFF, Weka and MOA write it, and packages ship it (scikit-survival's
`veteran.arff`, the UEA time-series archive). Read as a CSV, an ARFF file was a column named
`% comment` or `@relation ...` over lines of attributes, refused as ragged. The format
(https://waikato.github.io/weka-wiki/formats_and_processing/arff_stable/):

* lines starting with `%` are comments;
* `@relation NAME`, then one `@attribute NAME TYPE` per column, in order: `numeric`, `real`,
  `integer`, `string`, `date [FORMAT]` or a nominal list `{a, b, 'c d'}`; a name or value
  may be quoted with `'` or `"` (backslash escapes inside);
* `@data`, then one row per line, its values separated by commas, `?` for a missing one.

Each attribute becomes a column with its name, each value a cell as written (a nominal value
as its text, a date in its own spelling), `?` an empty cell. Every rule of `read_csv` then
applies, as to a file. Sparse rows (`{0 1.5, 3 a}`) and relational (multi-instance)
attributes are refused with the way to convert them.
"""

from __future__ import annotations

import csv
import io
import re

from keras_nnperf.tabular.comments import first_content_line
from keras_nnperf.tabular.errors import DataError

_KEYWORD = re.compile(r"@(relation|attribute|data)\b", re.IGNORECASE)


def looks_like_arff(text: str) -> bool:
    """Whether the first line that is neither blank nor a `%` comment is `@relation ...`."""
    return first_content_line(text, ("%",))[:9].lower() == "@relation"


def arff_csv(text: str, name: str) -> str:
    """The ARFF file's `text` as CSV text: a header of its attributes' names, then its rows.

    Args:
        text: A whole ARFF file's text.
        name: What messages call the file.

    Raises:
        DataError: for a file with no attribute or no `@data`, a relational attribute, sparse
            rows, or a row whose number of values is not the number of attributes.
    """
    names, rows, in_data = [], [], False
    for number, line in enumerate(io.StringIO(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        if in_data:
            rows.append(_row(stripped, len(names), name, number))
            continue
        keyword = _KEYWORD.match(stripped)
        if keyword is None:
            continue  # `@end` of a relational block is refused at its `@attribute`
        word = keyword[1].lower()
        if word == "attribute":
            attribute, kind = _first_token(stripped[keyword.end() :].strip())
            if kind.strip().lower().startswith("relational"):
                raise DataError(
                    f"{name}: attribute {attribute!r} is relational (multi-instance ARFF); "
                    "flatten it to one value per column first"
                )
            names.append(attribute)
        elif word == "data":
            if not names:
                break
            in_data = True
    if not names:
        raise DataError(f"{name} is an ARFF file with no @attribute lines")
    if not in_data:
        raise DataError(f"{name} is an ARFF file with no @data section")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue()


def _row(line: str, width: int, name: str, number: int) -> list[str]:
    """One `@data` line's cells, `?` as an empty (missing) cell."""
    if line.startswith("{"):
        raise DataError(
            f"{name}: line {number} is a sparse ARFF row ({line[:30]}...); write the file "
            "dense first (Weka's SparseToNonSparse filter, or scipy.io.arff and pandas)"
        )
    if "'" in line or '"' in line or "\\" in line:
        cells, quoted = _tokens(line)
    else:  # the common case: no quotes, a plain split
        cells = [cell.strip() for cell in line.split(",")]
        quoted = [False] * len(cells)
    if len(cells) != width:
        raise DataError(
            f"{name}: line {number} has {len(cells)} values but the file declares {width} "
            "attributes"
        )
    return [
        "" if cell == "?" and not was_quoted else cell
        for cell, was_quoted in zip(cells, quoted, strict=True)
    ]


def _tokens(line: str) -> tuple[list[str], list[bool]]:
    """`line` split at commas outside quotes (`'` or `"`, backslash escapes), unquoted."""
    cells, quoted = [], []
    index = 0
    while index <= len(line):
        while index < len(line) and line[index] in " \t":
            index += 1
        if index < len(line) and line[index] in "'\"":
            value, index = _quoted(line, index)
            cells.append(value)
            quoted.append(True)
            end = line.find(",", index)
            index = len(line) + 1 if end < 0 else end + 1
        else:
            end = line.find(",", index)
            end = len(line) if end < 0 else end
            cells.append(line[index:end].strip())
            quoted.append(False)
            index = end + 1
    return cells, quoted


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The quoted string opening at `text[start]`, unescaped, and the index after its quote."""
    quote, chars, index = text[start], [], start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return "".join(chars), index + 1
        chars.append(char)
        index += 1
    return "".join(chars), index  # an unclosed quote: the rest of the line


def _first_token(text: str) -> tuple[str, str]:
    """An attribute's name (quoted or up to the first blank) and the rest, its type."""
    if text[:1] in ("'", '"'):
        value, index = _quoted(text, 0)
        return value, text[index:]
    parts = text.split(None, 1)
    return parts[0], parts[1] if len(parts) > 1 else ""
