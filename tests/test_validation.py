import math

import numpy as np
import pytest

from keras_nnperf.validation import (
    check_bool,
    check_choice,
    check_integer,
    check_number,
    check_positive,
    check_seed,
    is_number,
)


@pytest.mark.parametrize("value", [3, 2.5, np.int64(3), np.float32(0.5), np.float64(-1.0)])
def test_numpy_scalars_and_python_numbers_are_numbers(value):
    assert is_number(value)
    result = check_number("x", value)
    assert type(result) is float and result == float(value)


@pytest.mark.parametrize(
    "value, fragment",
    [
        (True, "x=True"),
        (np.bool_(False), "x=(np.)?False"),
        (float("nan"), "x=nan"),
        (float("inf"), "x=inf"),
        (-math.inf, "x=-inf"),
        (np.float32("nan"), r"x=(np.float32\()?nan"),
        ("1", "x='1'"),
        (None, "x=None"),
        (np.array([1.0]), r"x=array\(\[1.\]\)"),
    ],
)
def test_refused_as_finite_number(value, fragment):
    with pytest.raises(
        ValueError, match=rf"Argument x must be a finite number\. Received: {fragment}"
    ):
        check_number("x", value)


def test_bounds_open_and_closed_and_message_names_the_interval():
    assert check_number("rate", 0.0, low=0.0, high=1.0, high_open=True) == 0.0
    with pytest.raises(
        ValueError, match=r"rate must be a finite number in \[0.0, 1.0\)\. .*rate=1"
    ):
        check_number("rate", 1, low=0.0, high=1.0, high_open=True)
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0.0\. Received: lr=0.0"):
        check_positive("lr", 0.0)
    with pytest.raises(ValueError, match=r"must be a finite number <= 2"):
        check_number("x", 2.5, high=2)


def test_none_and_infinity_only_when_allowed():
    assert check_number("x", None, allow_none=True) is None
    assert check_number("x", math.inf, allow_inf=True) == math.inf
    with pytest.raises(ValueError, match="or None"):
        check_number("x", "a", allow_none=True)
    with pytest.raises(ValueError, match="x=nan"):
        check_number("x", math.nan, allow_inf=True)


def test_integers():
    assert (
        check_integer("n", np.int64(3), low=1) == 3 and type(check_integer("n", np.int32(3))) is int
    )
    assert check_positive("n", np.uint8(2), integer=True) == 2
    assert check_integer("steps", 1e4, allow_integral_float=True) == 10_000
    for bad in (True, 3.0, 2.5, float("nan"), "3", None):
        with pytest.raises(ValueError, match=r"Argument n must be an integer"):
            check_integer("n", bad)
    with pytest.raises(ValueError, match=r"an integer >= 1\. Received: n=0"):
        check_integer("n", 0, low=1)
    with pytest.raises(ValueError, match=r"steps=2.5"):
        check_integer("steps", 2.5, allow_integral_float=True)
    assert check_integer("n", None, allow_none=True) is None


def test_bool_seed_and_choice():
    assert check_bool("flag", np.bool_(True)) is True
    with pytest.raises(ValueError, match=r"flag must be True or False\. Received: flag=1"):
        check_bool("flag", 1)
    assert check_seed("seed", None) is None and check_seed("seed", np.int64(-4)) == -4
    with pytest.raises(ValueError, match="seed=1.5"):
        check_seed("seed", 1.5)
    assert check_choice("mode", "max", ("min", "max")) == "max"
    with pytest.raises(
        ValueError, match=r"mode must be one of \['min', 'max'\]\. Received: mode='up'"
    ):
        check_choice("mode", "up", ("min", "max"))
    with pytest.raises(ValueError, match="mode=\\[1\\]"):
        check_choice("mode", [1], ("min", "max"))
