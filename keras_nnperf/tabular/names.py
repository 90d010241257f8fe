"""How messages name columns and classes: a few names in full, a long list cut with a count."""

from __future__ import annotations

import difflib

#: Names a warning or a report line shows before it counts the rest.
NAMES_SHOWN = 10


def name_list(names, quote=str, shown: int = NAMES_SHOWN) -> str:
    """`a, b, c` for a few names; the first `shown`, then `and 118 more (128 in all)`.

    A wide table (mnist_5k's 784 pixels, 128 of them always 0) would otherwise print a line of
    thousands of characters in a warning or the report.
    """
    names = [quote(n) for n in names]
    if len(names) <= shown + 1:  # "and 1 more" is no shorter than the name
        return ", ".join(names)
    rest = len(names) - shown
    return f"{', '.join(names[:shown])} and {rest} more ({len(names)} in all)"


def names_by_value(mapping: dict) -> dict:
    """`{name: value}` turned around, `{value: [names]}`, in the order values first occur.

    One message per reason (or per word read as missing) instead of one per column.
    """
    grouped: dict = {}
    for name, value in mapping.items():
        grouped.setdefault(value, []).append(name)
    return grouped


def closest_name(name, names: list[str]) -> str | None:
    """The name of `names` that differs from `name` only in case, else the closest spelling.

    For "did you mean ...?" hints: a header retyped or exported by another tool (`Survived`
    and `survived`, `income` and `incme`). `None` when nothing is close (`difflib` ratio 0.75).
    """
    same = [n for n in names if n.casefold() == str(name).casefold()]
    close = same or difflib.get_close_matches(str(name), names, n=1, cutoff=0.75)
    return close[0] if close else None


def case_variants(counts: dict[str, int]) -> list[list[str]]:
    """`counts`' values grouped by their case-folded spelling, each group most frequent first.

    On a tie, the spelling `counts` meets first (its insertion order: the file's). Shared by
    the target's labels (`task.merge_case_variants`) and categorical features (`preprocessor`).
    """
    groups: dict[str, list[str]] = {}
    for value in counts:
        groups.setdefault(value.casefold(), []).append(value)
    return [sorted(g, key=lambda v: (-counts[v], g.index(v))) for g in groups.values()]
