"""sktime's and aeon's `.ts` files (the time-series classification archive), as CSV text.

The UCR/UEA archive ships each problem as a `.ts` file, and sktime, aeon and tslearn bundle
them (`GunPoint_TRAIN.ts`, `BasicMotions_TRAIN.ts`). Read as a CSV, its `#` notes and `@` tags
made a ragged file, or each series' class was glued to its last value (`-1.73:2`). The format
(sktime's `load_from_tsfile`):

* lines starting with `#` (or `%`) are comments; `@tag value` lines describe the problem:
  `@problemName`, `@timeStamps`, `@missing`, `@univariate`, `@dimensions`, `@equalLength`,
  `@seriesLength`, `@classLabel true 1 2 3` (classification) or `@targetLabel true`
  (regression), then `@data`;
* each row is one case: its dimensions separated by `:`, each a series of values separated
  by `,` (`?` or `NaN` missing), then, after the last `:`, the class or the target.

Each case becomes a row: one column per time point, `t1` ... `tN` for one dimension,
`d1_t1` ... for several, then the class as column `class` or the target as column `target`.
Series shorter than the longest are padded with missing values at their end (each point is a
column). Series written with time stamps (`@timeStamps true`) are refused, saying why.
"""

from __future__ import annotations

import csv
import io

from keras_nnperf.tabular.comments import first_content_line
from keras_nnperf.tabular.errors import DataError

#: The tags only a `.ts` file's header holds (lower case): one of them, and `@data`, tell it.
TS_TAGS = ("@problemname", "@classlabel", "@targetlabel", "@univariate", "@timestamps")

#: What starts a comment line: `#`, and `%` as in ARFF (the archive's UnitTest problem).
COMMENTS = ("#", "%")

#: The column names of a case's label: a class, or a regression target.
CLASS_COLUMN, TARGET_COLUMN = "class", "target"


def looks_like_ts(text: str) -> bool:
    """Whether `text`'s first line that is neither blank nor a comment is a `.ts` tag."""
    return first_content_line(text, COMMENTS).lower().startswith(TS_TAGS)


def ts_csv(text: str, name: str) -> tuple[str, str]:
    """The `.ts` file's `text` as CSV text, and a sentence saying how it was read.

    The sentence names the label's column (the `--target` to give) and says when series of
    unequal length were padded.

    Args:
        text: A whole `.ts` file's text.
        name: What messages call the file.

    Raises:
        DataError: for time stamps, a file with no `@data`, no case, or a case whose number of
            dimensions differs from the first case's.
    """
    tags, cases, in_data = {}, [], False
    for number, line in enumerate(io.StringIO(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(COMMENTS):
            continue
        if not in_data:
            tag, _, value = stripped.partition(" ")
            tag = tag.lower()
            if tag == "@data":
                in_data = True
            elif tag.startswith("@"):
                tags[tag] = value.strip()
            continue
        cases.append((number, stripped))
    if tags.get("@timestamps", "false").lower() == "true":
        raise DataError(
            f"{name} holds series with time stamps (@timeStamps true); write one value per "
            "time point first (sktime: load_from_tsfile, then to a wide table)"
        )
    if not in_data:
        raise DataError(f"{name} is a .ts file with no @data section")
    if not cases:
        raise DataError(f"{name} is a .ts file with no case after @data")
    label = _label_column(tags)
    rows, dimensions = [], None
    for number, line in cases:
        fields = line.split(":")
        value = fields.pop().strip() if label else None
        series = [[_cell(v) for v in field.split(",")] for field in fields]
        if dimensions is None:
            dimensions = len(series)
        elif len(series) != dimensions:
            raise DataError(
                f"{name}: line {number} has {len(series)} dimension(s) where the first case "
                f"has {dimensions}"
            )
        rows.append((series, value))
    lengths = [max(len(s[d]) for s, _ in rows) for d in range(dimensions)]
    header = [
        f"t{t + 1}" if dimensions == 1 else f"d{d + 1}_t{t + 1}"
        for d in range(dimensions)
        for t in range(lengths[d])
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header + ([label] if label else []))
    for series, value in rows:
        cells = [cell for d, s in enumerate(series) for cell in s + [""] * (lengths[d] - len(s))]
        writer.writerow(cells + ([value] if label else []))
    shortest = min(len(s) for series, _ in rows for s in series)
    said = (
        f"read as {len(rows)} case(s) of {dimensions} dimension(s) of {max(lengths)} time "
        f"point(s), columns {header[0]} ... {header[-1]}"
    )
    if shortest < max(lengths):
        said += f" (series of {shortest} to {max(lengths)} values, padded with missing values)"
    said += (
        f", its {'class' if label == CLASS_COLUMN else 'target'} as column {label!r}"
        if label
        else ""
    )
    return out.getvalue(), said


def _label_column(tags: dict) -> str | None:
    if tags.get("@classlabel", "").lower().startswith("true"):
        return CLASS_COLUMN
    if tags.get("@targetlabel", "").lower().startswith("true"):
        return TARGET_COLUMN
    return None


def _cell(value: str) -> str:
    value = value.strip()
    return "" if value in ("?", "NaN", "nan") else value
