"""Argument checks of the tuning package that `keras_nnperf.validation` does not have.

Numbers, integers, booleans and single choices go through `keras_nnperf.validation`; here are
only a list of choices (`check_choices`), `"auto"`-or-bool, and `prefer`.
"""

from __future__ import annotations

from collections.abc import Sequence

from keras_nnperf.validation import check_bool


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


def check_auto_or_bool(name: str, value):
    """`"auto"`, or `value` as a bool (through `keras_nnperf.validation.check_bool`)."""
    if isinstance(value, str) and value == "auto":
        return value
    try:
        return check_bool(name, value)
    except ValueError:
        raise ValueError(
            f"Argument {name} must be 'auto', True or False. Received: {name}={value!r}"
        ) from None


def prefer(choices: Sequence, preferred):
    """`preferred` if it is among `choices`, else the first choice (a default that exists)."""
    return preferred if preferred in choices else choices[0]
