"""Argument checks shared by the tuning templates and `search` (messages echo the bad value)."""

from __future__ import annotations

from collections.abc import Sequence


def check_choices(name: str, given, supported: Sequence, default=None) -> list:
    """Return `given` as a de-duplicated list, or `default` (or all of `supported`) when `None`.

    Raises:
        ValueError: if `given` is empty, a bare string, or holds entries that are not supported;
            the message names the bad entries and the supported ones.
    """
    if given is None:
        return list(supported if default is None else default)
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
        raise ValueError(f"Argument {name} must be a list of names. Received: {name}={given!r}")
    if not given:
        raise ValueError(f"Argument {name} must not be empty. Received: {name}={given!r}")
    bad = [each for each in given if each not in supported]
    if bad:
        raise ValueError(
            f"Argument {name} holds unsupported entries {bad}. Supported: {list(supported)}. "
            f"Received: {name}={given!r}"
        )
    return list(dict.fromkeys(given))


def check_positive_int(name: str, value, allow_none: bool = False):
    """Return `value` if it is an int > 0 (or `None` when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"Argument {name} must be an integer > 0. Received: {name}={value!r}")
    return value


def check_one_of(name: str, value, allowed: Sequence):
    """Return `value` if it is one of `allowed`."""
    if value not in allowed:
        raise ValueError(
            f"Argument {name} must be one of {list(allowed)}. Received: {name}={value!r}"
        )
    return value


def prefer(choices: Sequence, preferred):
    """`preferred` if it is among `choices`, else the first choice (a default that exists)."""
    return preferred if preferred in choices else choices[0]
