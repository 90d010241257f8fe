"""Tables written as JSON, turned into the CSV text `read_csv` reads.

Web APIs, MongoDB exports and pandas' `to_json` write tables as JSON, and users hand those
files to `nnperf fit` as they would a CSV. Read as a CSV, JSON lines became columns named
`{"x": 0.095` holding `"kind": "b"`; a JSON array was "a header but no data rows". The layouts
read, as pandas' `read_json` names them:

* `records`: an array of objects, `[{"x": 1.5, "kind": "a"}, ...]`;
* JSON lines (`lines=True`): one object per line, as `.jsonl` files and log pipelines write;
* `columns` (pandas' default `to_json()`): `{"x": {"0": 1.5, "1": 2.5}, "kind": {...}}`;
* `split`: `{"columns": ["x", "kind"], "data": [[1.5, "a"], ...]}` (an `index` is ignored).

Columns are the keys in the order first met; a key an object lacks is a missing cell, as
`null` is. Numbers are written so they read back exactly, `true`/`false` as `True`/`False`
(as pandas writes booleans), and a nested value as its JSON text. Every rule of `read_csv`
then applies, as to a file.
"""

from __future__ import annotations

import csv
import io
import json

#: The layouts `records_csv` reads, in the order they are tried.
LAYOUTS = ("records", "lines", "columns", "split")


def looks_like_json(text: str) -> bool:
    """Whether `text` starts as a JSON array or object does (after blanks)."""
    return text.lstrip()[:1] in ("[", "{")


def records_csv(text: str) -> tuple[str, str] | None:
    """`text` as CSV text and the layout it was read in, or `None` when it is no JSON table.

    Args:
        text: A whole file's text.

    Returns:
        `(csv_text, layout)`, `layout` one of `LAYOUTS`; `None` for text that is not JSON in
        one of them (a CSV whose first cell starts with a bracket, say).
    """
    try:
        data = json.loads(text)
    except ValueError:
        rows = _json_lines(text)
        return None if rows is None else (_csv(rows), "lines")
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return _csv(data), "records"
    if isinstance(data, dict) and _is_split(data):
        names = [str(name) for name in data["columns"]]
        return _csv([dict(zip(names, row, strict=True)) for row in data["data"]]), "split"
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        index = list(dict.fromkeys(key for cells in data.values() for key in cells))
        rows = [{name: cells.get(key) for name, cells in data.items()} for key in index]
        return _csv(rows), "columns"
    return None


def _json_lines(text: str) -> list[dict] | None:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            return None
        if not isinstance(row, dict):
            return None
        rows.append(row)
    return rows or None


def _is_split(data: dict) -> bool:
    columns, rows = data.get("columns"), data.get("data")
    return (
        isinstance(columns, list)
        and isinstance(rows, list)
        and all(isinstance(row, list) and len(row) == len(columns) for row in rows)
    )


def _csv(rows: list[dict]) -> str:
    names = list(dict.fromkeys(str(key) for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        cells = {str(key): value for key, value in row.items()}
        writer.writerow([_cell(cells.get(name)) for name in names])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)  # a nested list or object: its JSON text
