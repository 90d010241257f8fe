"""Argument checks shared by every schedule constructor.

Each check returns the value as a plain Python number, so configs stay JSON-serializable even
when a caller passes a NumPy scalar, and raises `ValueError` naming the argument and its value.
"""

from __future__ import annotations

import math
import numbers


def check_number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return `value` as a finite float inside the given bounds.

    Raises:
        ValueError: if `value` is not a finite real number or lies outside the bounds.
    """
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(float(value))
    ):
        raise ValueError(f"Argument {name} must be a finite number. Received: {name}={value!r}")
    number = float(value)
    if low is not None and (number <= low if low_open else number < low):
        relation = ">" if low_open else ">="
        raise ValueError(f"Argument {name} must be {relation} {low}. Received: {name}={value!r}")
    if high is not None and (number >= high if high_open else number > high):
        relation = "<" if high_open else "<="
        raise ValueError(f"Argument {name} must be {relation} {high}. Received: {name}={value!r}")
    return number


def check_learning_rate(name: str, value) -> float:
    """A learning rate: a finite number >= 0."""
    return check_number(name, value, low=0.0)


def check_steps(name: str, value, *, allow_zero: bool = False) -> int:
    """A step count: an integer > 0 (or >= 0 with `allow_zero`).

    Integral floats (`1e4`) are accepted and returned as `int`.

    Raises:
        ValueError: if `value` is not an integer or is out of range.
    """
    is_integral = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real)
        and math.isfinite(float(value))
        and float(value).is_integer()
    )
    if isinstance(value, bool) or not is_integral:
        raise ValueError(f"Argument {name} must be an integer. Received: {name}={value!r}")
    steps = int(value)
    if steps < 0 or (steps == 0 and not allow_zero):
        relation = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"Argument {name} must be {relation}. Received: {name}={value!r}")
    return steps


def check_choice(name: str, value, choices: tuple[str, ...]) -> str:
    """One of a fixed set of strings."""
    if value not in choices:
        raise ValueError(
            f"Argument {name} must be one of {list(choices)}. Received: {name}={value!r}"
        )
    return value


def check_boundaries(name: str, value) -> list[int]:
    """A list of strictly increasing step counts, each > 0."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"Argument {name} must be a list of integers. Received: {name}={value!r}")
    steps = [check_steps(name, boundary) for boundary in value]
    for before, after in zip(steps, steps[1:], strict=False):
        if after <= before:
            raise ValueError(
                f"Argument {name} must be strictly increasing. Received: {name}={value!r}"
            )
    return steps
