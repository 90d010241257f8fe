"""The schedule-specific argument checks, built on `keras_nnperf.validation`.

Each check returns the value as a plain Python number, so configs stay JSON-serializable even
when a caller passes a NumPy scalar, and raises `ValueError` naming the argument and its value.
Booleans, NaN and infinities are refused wherever a finite number is meant.
"""

from __future__ import annotations

from keras_nnperf.validation import check_choice, check_integer, check_number

__all__ = [
    "check_boundaries",
    "check_choice",
    "check_learning_rate",
    "check_number",
    "check_steps",
]


def check_learning_rate(name: str, value) -> float:
    """A learning rate: a finite number >= 0."""
    return check_number(name, value, low=0.0)


def check_steps(name: str, value, *, allow_zero: bool = False) -> int:
    """A step count: an integer > 0 (or >= 0 with `allow_zero`); `1e4` is accepted as 10000."""
    return check_integer(name, value, low=0 if allow_zero else 1, allow_integral_float=True)


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
