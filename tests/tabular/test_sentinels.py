import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import DataWarning, TabularPreprocessor, read_csv
from keras_nnperf.tabular.sentinels import missing_code, written_like_code


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
