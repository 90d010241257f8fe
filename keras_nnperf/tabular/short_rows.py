"""Rows with fewer fields than the header: their last fields are missing, as pandas reads them.

Programs that write a table from records drop a record's empty trailing fields: country_converter
ships `country_data.tsv`, 53 columns, whose row for the Åland Islands has 50 (its IOC, FIFA,
GEO and CoE codes are empty). `pandas.read_csv` and R's `read.csv` (`fill = TRUE`) read such a
row with its last fields missing; `read_csv` refused the file ("line 3 has 50 fields but the
header has 53"). It now reads them so too, with a warning naming the lines.

One short row is not padded: two short rows in a row whose fields add up to the header's plus
one. That is a line break inside a field that is not quoted (`1,first half` then `second half,3`
under `a,b,c`): padding would make two wrong rows of one, so the file is refused, naming both
lines. Rows with more fields than the header stay an error (pandas refuses them too), except
R's files whose every row has one more field, their names (`read_csv`).
"""

from __future__ import annotations

from keras_nnperf.tabular.errors import DataError


def padded_short_rows(
    body: list[list[str]], line_numbers: list[int], width: int, path: str
) -> tuple[list[list[str]], list[int]]:
    """`body` with each row shorter than `width` padded with empty (missing) fields.

    Args:
        body: The table's rows, lists of fields.
        line_numbers: Each row's line in the file, for the messages.
        width: The header's number of fields.
        path: The file, for the error.

    Returns:
        The padded rows and the line numbers of those that were short.

    Raises:
        DataError: naming two consecutive short rows whose fields add up to `width + 1` (a line
            break inside an unquoted field).
    """
    short = [i for i, row in enumerate(body) if len(row) < width]
    for i in short:
        after = i + 1
        if after < len(body) and len(body[after]) < width:
            if len(body[i]) + len(body[after]) - 1 == width:
                raise DataError(
                    f"{path}: line {line_numbers[i]} has {len(body[i])} fields and line "
                    f"{line_numbers[after]} has {len(body[after])}, but the header has {width}: "
                    "together they make one row (a line break inside a field that is not "
                    "quoted?); quote that field or remove the line break"
                )
    if not short:
        return body, []
    padded = list(body)
    for i in short:
        padded[i] = [*body[i], *[""] * (width - len(body[i]))]
    return padded, [line_numbers[i] for i in short]
