"""Comment lines, `#` first: what programs write around a table, and NumPy writes as its header.

`numpy.savetxt(path, data, delimiter=",", header="temp,load,y")` writes its header as
`# temp,load,y`; loggers, R scripts and scientific tools write notes above the header
(`# station GSO, units: degC, kW`) and sometimes among the rows. pandas skips them only when
told (`comment="#"`). Read as a table, a note with commas in it became the header (`line 2 has 1
fields but the header has 3`), NumPy's commented header left the file with its first row as
the header, and a note among the rows made the file ragged.

`leading_comments` finds the comment lines at the top and whether the last of them is the
header; `is_comment_row` tells a comment among the rows. `read_csv` leaves them out and says so.
Only lines whose first cell starts with `#` are comments; among the rows, only those whose
number of fields is not the table's (a `#hashtag` value in a row of the right width is data).
"""

from __future__ import annotations

import io
from collections.abc import Callable


def first_content_line(text: str, comment_prefixes: tuple[str, ...]) -> str:
    """The first line of `text` that is neither blank nor a comment, stripped ('' if none)."""
    for line in io.StringIO(text):
        stripped = line.strip()
        if stripped and not stripped.startswith(comment_prefixes):
            return stripped
    return ""


def is_comment_row(row: list[str]) -> bool:
    """Whether a line (its cells) starts with `#`."""
    return bool(row) and row[0].lstrip().startswith("#")


def uncommented(row: list[str]) -> list[str]:
    """`row` without its `#`: NumPy writes `# a,b,c` (or `# a b c`, its first cell `#` alone).

    When every cell starts with `#` and the first is more than `#`, the marks are the names'
    own (Fortran-era model grids number theirs `#1)No  #2)log(U)  ...`): the row is kept as it
    is, so the names are the ones the user reads in the file.
    """
    first = row[0].lstrip()[1:].lstrip()
    if first and len(row) >= 2 and all(cell.lstrip().startswith("#") for cell in row):
        return [cell.strip() for cell in row]
    return row[1:] if not first else [first, *row[1:]]


def leading_comments(
    lines: list[list[str]], is_data_line: Callable[[list[str]], bool]
) -> tuple[int, list[str] | None]:
    """How many lines at the top are comments, and the header one of them holds, if any.

    The last comment line is the header when, without its `#`, it has as many fields as the
    line after it and that line is data (`is_data_line`): what `numpy.savetxt` writes. Otherwise
    the header is the first line that is no comment.

    Args:
        lines: The file's non-blank lines, each a list of cells.
        is_data_line: Whether a line is a row of data rather than a header.

    Returns:
        `(count, header)`: the first `count` lines are comments; `header` is the cells of the
        commented header, or `None` when the header is `lines[count]`.
    """
    count = 0
    while count < len(lines) and is_comment_row(lines[count]):
        count += 1
    if not count or count == len(lines):
        return 0, None
    last = uncommented(lines[count - 1])
    if len(last) == len(lines[count]) and len(last) >= 2 and is_data_line(lines[count]):
        return count, last
    return count, None
