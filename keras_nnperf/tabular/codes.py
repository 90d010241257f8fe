"""Whole-number columns that may be codes: a brand, a city, a state written in digits.

A code read as a number puts brand 7 between brands 6 and 8, an order that means nothing, and a
network (or a linear model) has to cut that line into pieces to tell brands apart. causalpy's
cereal table (Nevo's market shares) codes its brand, firm and city in digits: read as numbers the
network scored R² 0.130 against the linear model's 0.214; with `--categorical firmbr brand firm
city` 0.413 against 0.398.

Digits alone cannot tell a code from a count (3 bedrooms, 2 floors), so the name decides: a
column is suggested when its training values are whole numbers of at least `MIN_LEVELS` and at
most `preprocessor.CODE_MAX_LEVELS` distinct values and a word of its name starts with one of
`CODE_WORDS` (`firmbr`, `zipcode`, `CustomerType`, `postal code`; not `real_estate`).
Nothing is changed: the report suggests `--categorical` when the network loses to a simpler
model, and the user, who knows the columns, decides.
"""

from __future__ import annotations

import re

#: Parts of a column name that say its numbers name things rather than count them.
CODE_WORDS = (
    "brand",
    "firm",
    "company",
    "store",
    "shop",
    "product",
    "item",
    "city",
    "county",
    "state",
    "region",
    "district",
    "country",
    "zip",
    "postcode",
    "postal",
    "fips",
    "code",
    "category",
    "type",
    "class",
    "group",
    "cluster",
    "segment",
    "sector",
    "industry",
    "occupation",
    "station",
    "site",
    "team",
    "race",
    "dept",
    "department",
)

#: Fewer distinct values than this are flags or levels, fine as numbers.
MIN_LEVELS = 3

# A name's words: split at anything but letters and digits, and where camelCase turns upper.
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _reads_as_code(name: str) -> bool:
    return any(w.lower().startswith(CODE_WORDS) for w in _WORD.findall(name))


def code_like_columns(preprocessor) -> list[str]:
    """The numeric features of `preprocessor` that may be codes (see the module), in order."""
    return [
        feature["name"]
        for feature in preprocessor.features
        if feature["kind"] == "numeric"
        and not feature.get("date")
        and feature.get("whole_levels", 0) >= MIN_LEVELS
        and _reads_as_code(feature["name"])
    ]
