import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import DataWarning, TabularPreprocessor, read_csv
from keras_nnperf.tabular.sentinels import missing_code, target_missing_code, written_like_code


@pytest.mark.parametrize("value", [-1, 9, -9, 99, -999, 9999, 97, 98, 998, -99998])
def test_written_like_code(value):
    assert written_like_code(float(value))


@pytest.mark.parametrize("value", [0, 1, -2, 7, 8, 79, 89, 100, 990, 9.5, -9.9, 1e12])
def test_not_written_like_code(value):
    assert not written_like_code(float(value))


def _ages(n=200, seed=0):
    return np.round(np.random.default_rng(seed).uniform(0.67, 80, n), 2)


def test_missing_code_finds_a_frequent_code_far_outside_the_other_values():
    ages = _ages()
    # explainerdashboard's Titanic: -999 for 134 of 691 ages; CCES's 97 among brackets 1-16.
    assert missing_code(np.concatenate([ages, np.full(40, -999.0)])) == -999
    brackets = np.random.default_rng(1).integers(1, 17, 300).astype(float)
    assert missing_code(np.concatenate([brackets, np.full(30, 97.0)])) == 97
    # Two candidates: the more frequent one.
    both = np.concatenate([ages, np.full(5, -999.0), np.full(9, 9999.0)])
    assert missing_code(both) == 9999


@pytest.mark.parametrize(
    "values",
    [
        np.concatenate([_ages(), np.full(2, -999.0)]),  # too few rows
        np.concatenate([np.arange(0, 99.0), np.full(10, 99.0)]),  # 99 among ages up to 98
        np.concatenate([np.arange(1, 9.0).repeat(5), np.full(10, 9.0)]),  # 9 on a 1-8 scale
        np.concatenate([np.ones(50), np.full(50, 9.0)]),  # a column of 1 and 9: two codes
        np.concatenate([np.ones(25), np.full(25, 2.0), np.full(50, 9.0)]),  # too few others
        np.concatenate([_ages(), np.full(40, -500.0)]),  # far, but not spelled like a code
    ],
)
def test_missing_code_leaves_numbers_that_may_be_real(values):
    assert missing_code(values) is None


def test_zero_below_a_positive_measurement_is_a_code_and_a_real_zero_is_not():
    rng = np.random.default_rng(0)
    # faraway's Pima table: 0 for 5 glucose readings (44 to 199) and 35 diastolic pressures.
    glucose = rng.integers(44, 200, 763).astype(float)
    assert missing_code(np.concatenate([glucose, np.zeros(5)])) == 0
    pressure = rng.integers(24, 123, 733).astype(float)
    assert missing_code(np.concatenate([pressure, np.zeros(35)])) == 0
    # Counts, and amounts that start near 0, keep their zeros.
    pregnancies = rng.integers(0, 18, 768).astype(float)
    assert missing_code(pregnancies) is None
    gains = np.concatenate([np.zeros(900), rng.uniform(114, 99999, 100)])
    assert missing_code(gains) is None
    # No discount on most purchases (ISLR's OJ: 0 on 78%, else 0.1 to 0.5): a state, not a gap.
    discounts = np.concatenate([np.zeros(838), rng.choice(np.linspace(0.1, 0.5, 12), 232)])
    assert missing_code(discounts) is None
    # Too few other values for a measurement (a 5-7 score where 0 is a grade), or some of them
    # negative (a temperature): real.
    assert (
        missing_code(np.concatenate([rng.integers(5, 8, 90), np.zeros(10)]).astype(float)) is None
    )
    assert missing_code(np.concatenate([rng.uniform(-20, 40, 100), np.zeros(10)])) is None


def test_a_missing_code_reads_as_missing_in_training_and_in_new_files(write):
    ages = _ages(60)
    cells = [str(a) if i % 5 else "-999" for i, a in enumerate(ages)]
    text = "age,y\n" + "".join(f"{c},{i % 2}\n" for i, c in enumerate(cells))
    with pytest.warns(DataWarning, match=r"'age': -999 \(12 training rows\) lies far outside"):
        pre = TabularPreprocessor.fit(read_csv(write(text)), "y")
    (age,) = pre.features
    present = ages[np.arange(60) % 5 != 0]
    assert age["missing_code"] == -999 and age["indicator"]
    assert age["fill"] == pytest.approx(np.median(present))
    assert (age["low"], age["high"]) == (present.min(), present.max())
    # A new file's -999 encodes as its missing cell does: the median, and the indicator.
    new = read_csv(write("age,y\n-999,0\n,1\n30,0\n", "new.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        x = pre.transform(new)
    np.testing.assert_array_equal(x[0], x[1])
    assert x[0, 1] == 1 and x[2, 1] == 0
    # Saved and loaded, the same.
    path = write("", "pre.json")
    pre.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        np.testing.assert_array_equal(TabularPreprocessor.load(path).transform(new), x)


def test_a_zero_glucose_reads_as_missing_and_the_warning_says_a_real_zero_is_kept(write):
    rng = np.random.default_rng(3)
    glucose = rng.integers(44, 200, 60).astype(float)
    glucose[::12] = 0.0  # 5 readings not taken
    text = "glucose,y\n" + "".join(f"{g:g},{i % 2}\n" for i, g in enumerate(glucose))
    with pytest.warns(DataWarning, match=r"'glucose': 0 \(5 training rows\).*a real 0 still"):
        pre = TabularPreprocessor.fit(read_csv(write(text)), "y")
    (f,) = pre.features
    present = glucose[glucose > 0]
    assert f["missing_code"] == 0 and f["indicator"] and f["low"] == present.min()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        x = pre.transform(read_csv(write(text, "same.csv")))
    np.testing.assert_array_equal(x[:, 1], (glucose == 0).astype(float))  # the indicator


def test_a_target_code_needs_no_frequency_and_zero_is_never_one():
    # pyvolcans' tectonic settings 1 to 11, -9999 for 5 of 1,439 volcanoes (too rare for a
    # feature's rule): read as a quantity, the regression scored R2 -331.
    settings = np.random.default_rng(0).integers(1, 12, 1434).astype(float)
    coded = np.concatenate([settings, np.full(5, -9999.0)])
    assert missing_code(coded) is None and target_missing_code(coded) == -9999
    assert target_missing_code(np.concatenate([settings, [99.0]])) == 99  # one row is enough
    # A target's 0 is a value; so are values near the others, or far but not spelled so.
    glucose = np.concatenate([np.linspace(44, 199, 300), np.zeros(30)])
    assert missing_code(glucose) == 0 and target_missing_code(glucose) is None
    assert target_missing_code(np.concatenate([np.arange(0, 99.0), [99.0]])) is None
    assert target_missing_code(np.concatenate([settings, [-500.0]])) is None
