"""Argument checks for every public constructor and function, with Keras-style errors.

Each check returns the value as a plain Python object (`np.int64(3)` -> `3`, `np.float32(0.5)`
-> `0.5`), so configs stay JSON-serializable whatever the caller passed, and raises
`ValueError(f"Argument {name} must be ... Received: {name}={value!r}")` otherwise.

The rules, the same everywhere:

* NumPy scalars are numbers (`np.int64(3)` is a valid integer, `np.float32(0.1)` a valid float);
* booleans are never numbers (`True` is not `1` here, as it is in Python);
* NaN is never valid, and neither is an infinity unless the check says `allow_inf=True` (a bound
  that may be open on one side);
* an integer check refuses floats unless `allow_integral_float=True` (step counts written `1e4`).

Example:
```python
from keras_nnperf.validation import check_integer, check_number

rate = check_number("rate", rate, low=0.0, high=1.0, high_open=True)  # [0, 1)
steps = check_integer("steps", steps, low=1)
```
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np


def is_number(value: Any) -> bool:
    """Whether `value` is a real number (NumPy scalars included), but not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _interval(low, high, low_open, high_open) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def _outside(number, low, high, low_open, high_open) -> bool:
    if low is not None and (number <= low if low_open else number < low):
        return True
    return high is not None and (number >= high if high_open else number > high)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    allow_inf: bool = False,
) -> float | None:
    """Return `value` as a Python float: a real number, not NaN, finite, inside the bounds.

    Args:
        name: The argument's name, echoed in the error.
        value: What the caller passed.
        low: Lower bound, or `None`.
        high: Upper bound, or `None`.
        low_open: Whether `low` itself is excluded (`> low` rather than `>= low`).
        high_open: Whether `high` itself is excluded.
        allow_none: Whether `None` is valid (it is returned as `None`).
        allow_inf: Whether `inf` and `-inf` are valid (NaN never is).

    Returns:
        `float(value)`, or `None`.

    Raises:
        ValueError: naming the argument, what it must be and the value received.

    Example:
    ```python
    check_number("momentum", 0.9, low=0.0, high=1.0, high_open=True)  # 0.9
    ```
    """
    if value is None and allow_none:
        return None
    kind = "a number" if allow_inf else "a finite number"
    must = f"{kind}{_interval(low, high, low_open, high_open)}"
    if allow_none:
        must += " or None"
    if not is_number(value):
        raise ValueError(f"Argument {name} must be {must}. Received: {name}={value!r}")
    number = float(value)
    if (
        math.isnan(number)
        or (math.isinf(number) and not allow_inf)
        or _outside(number, low, high, low_open, high_open)
    ):
        raise ValueError(f"Argument {name} must be {must}. Received: {name}={value!r}")
    return number


def check_integer(
    name: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
    allow_integral_float: bool = False,
) -> int | None:
    """Return `value` as a Python int inside `[low, high]`.

    Args:
        name: The argument's name, echoed in the error.
        value: What the caller passed; an `int` or a NumPy integer (not a bool).
        low: Smallest valid value, or `None`.
        high: Largest valid value, or `None`.
        allow_none: Whether `None` is valid (it is returned as `None`).
        allow_integral_float: Whether a float with an integral value (`1e4`) is valid.

    Returns:
        `int(value)`, or `None`.

    Raises:
        ValueError: naming the argument, what it must be and the value received.

    Example:
    ```python
    check_integer("patience", np.int64(3), low=0)  # 3
    ```
    """
    if value is None and allow_none:
        return None
    must = f"an integer{_interval(low, high, False, False)}"
    if allow_none:
        must += " or None"
    integral = isinstance(value, numbers.Integral) or (
        allow_integral_float
        and is_number(value)
        and math.isfinite(float(value))
        and float(value).is_integer()
    )
    if isinstance(value, bool) or not integral:
        raise ValueError(f"Argument {name} must be {must}. Received: {name}={value!r}")
    number = int(value)
    if _outside(number, low, high, False, False):
        raise ValueError(f"Argument {name} must be {must}. Received: {name}={value!r}")
    return number


def check_positive(name: str, value: Any, *, integer: bool = False) -> float | int:
    """A finite number `> 0` (a float), or with `integer=True` an integer `>= 1`."""
    if integer:
        return check_integer(name, value, low=1)
    return check_number(name, value, low=0.0, low_open=True)


def check_bool(name: str, value: Any) -> bool:
    """`True` or `False` (NumPy's `bool_` too); anything else, `1` included, is refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"Argument {name} must be True or False. Received: {name}={value!r}")


def check_seed(name: str, value: Any) -> int | None:
    """A random seed: an integer or `None` (what `keras.random.SeedGenerator` takes)."""
    return check_integer(name, value, allow_none=True)


def check_choice(name: str, value: Any, choices: Sequence) -> Any:
    """One of `choices` (compared with `==`)."""
    try:
        valid = not isinstance(value, bool) and value in choices
    except (TypeError, ValueError):  # an unhashable value, or an array compared elementwise
        valid = False
    if valid:
        return value
    raise ValueError(f"Argument {name} must be one of {list(choices)}. Received: {name}={value!r}")


__all__ = [
    "check_bool",
    "check_choice",
    "check_integer",
    "check_number",
    "check_positive",
    "check_seed",
    "is_number",
]
