import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import DataError, DataWarning, fold_indices, infer_task, split_indices
from keras_nnperf.tabular.task import merge_case_variants, target_labels


@pytest.mark.parametrize(
    "values, task, classes",
    [
        (["0", "1", "1", "0"], "binary", ["0", "1"]),
        (["1.0", "2", "3", "1", "2", "3"], "multiclass", ["1", "2", "3"]),
        (["cat", "dog", "cat", "bird"], "multiclass", ["bird", "cat", "dog"]),
        (["yes", "no"], "binary", ["no", "yes"]),
        (["0.5", "1.25", "3.0", "2.0"], "regression", None),
        ([str(i) for i in range(40)], "regression", None),  # many distinct integers
        (["-1", "0", "1"] * 2, "multiclass", ["-1", "0", "1"]),  # codes from -1
        (["1", "2", "3", "5", "7"] * 2, "multiclass", ["1", "2", "3", "5", "7"]),  # gaps of 1.5
        (["4", "8"] * 2, "binary", ["4", "8"]),  # any two values are two classes
    ],
)
def test_infer_task(values, task, classes):
    assert infer_task(values) == (task, classes)


@pytest.mark.parametrize(
    "values",
    [
        [str(v) for v in range(69, 88)] * 2,  # heights in inches: do not start at 0 or 1
        ["0", "7", "10", "15", "30", "90", "120", "180", "365", "540", "730", "1825"] * 2,  # days
        ["1987", "1988", "1989"] * 2,  # years
        ["0", "1", "4", "9", "16"] * 2,  # squares: gaps wider than 2 on average
    ],
)
def test_whole_number_quantities_are_regression_with_a_warning(values):
    with pytest.warns(DataWarning, match="read as a quantity .* pass --task multiclass"):
        assert infer_task(values, name="y") == ("regression", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # forced: no guess, no warning
        assert infer_task(values, "multiclass")[0] == "multiclass"


def test_class_codes_give_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert infer_task(["1", "2", "3", "4", "5"] * 2)[0] == "multiclass"


def test_infer_task_errors():
    with pytest.raises(DataError, match="single class"):
        infer_task(["a", "a"])
    with pytest.raises(DataError, match="single value"):
        infer_task(["1.5", "1.5"], "regression")
    with pytest.raises(DataError, match="not numeric"):
        infer_task(["a", "b"], "regression")
    with pytest.raises(DataError, match="needs two classes"):
        infer_task(["a", "b", "c"], "binary")
    assert infer_task(["0", "1", "2"], "regression")[0] == "regression"


def test_split_is_stratified_and_disjoint():
    labels = ["a"] * 80 + ["b"] * 20
    train, val = split_indices(labels, 0.25, stratify=True, seed=0)
    assert len(np.intersect1d(train, val)) == 0
    assert len(train) + len(val) == 100
    val_labels = [labels[i] for i in val]
    assert val_labels.count("a") == 20 and val_labels.count("b") == 5


def test_split_too_few_rows():
    with pytest.raises(DataError, match="too few rows"):
        split_indices(["a", "b"] * 3, 0.2, stratify=True, seed=0)


@pytest.mark.parametrize("stratify", [True, False])
def test_folds_cover_every_row_once_with_even_sizes(stratify):
    labels = ["a"] * 37 + ["b"] * 11 + ["c"] * 5
    folds = fold_indices(labels, 4, stratify=stratify, seed=3)
    assert len(folds) == 4
    validation = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(validation), np.arange(53))
    sizes = [len(val) for _, val in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(53))
    if stratify:
        for label, count in (("a", 37), ("b", 11), ("c", 5)):
            shares = [sum(labels[i] == label for i in val) for _, val in folds]
            assert max(shares) - min(shares) <= 1 and sum(shares) == count


def test_folds_depend_on_the_seed_only():
    labels = ["a", "b"] * 10
    first = fold_indices(labels, 3, True, seed=1)
    again = fold_indices(labels, 3, True, seed=1)
    other = fold_indices(labels, 3, True, seed=2)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize(
    "folds, n, message",
    [(1, 20, ">= 2"), (True, 20, ">= 2"), (2.0, 20, ">= 2"), (5, 8, "too few rows")],
)
def test_folds_errors(folds, n, message):
    with pytest.raises(DataError, match=message):
        fold_indices(["a", "b"] * (n // 2), folds, True, 0)


def test_a_class_of_fewer_than_five_rows_is_named_in_a_warning():
    # A 3-class target with one `rare` row: before, it stayed in training without a word, and
    # the validation scores said nothing about it.
    labels = ["a"] * 30 + ["b"] * 30 + ["rare"] + ["odd"] * 4
    message = r"target class\(es\) 'rare' \(1 row\), 'odd' \(4 rows\) have fewer than 5 rows"
    with pytest.warns(DataWarning, match=message):
        train, val = split_indices(labels, 0.2, True, seed=0)
    assert [labels[i] for i in val].count("rare") == 0
    with pytest.warns(DataWarning, match=message):
        fold_indices(labels, 3, True, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split_indices(labels[:60] + ["rare"] * 5, 0.2, True, seed=0)  # 5 rows: no warning
        split_indices(labels, 0.2, False, seed=0)  # a regression target has no classes
    # Many rare classes: ten named, the rest counted.
    many = ["a"] * 30 + [f"r{i}" for i in range(12)]
    with pytest.warns(DataWarning, match=r"'r9' \(1 row\) and 2 more \(12 in all\) have"):
        split_indices(many, 0.2, True, seed=0)
    # Whole numbers read as class codes: a rare tail is usually a count's, so the warning
    # names the other reading (sktime's PBS prescriptions, 1 to 14 a month).
    counts = ["1"] * 30 + ["2"] * 30 + ["13", "14"]
    with pytest.warns(DataWarning, match=r"counts or amounts, read them as one \(--task regr"):
        split_indices(counts, 0.2, True, seed=0)
    with pytest.warns(DataWarning) as caught:
        split_indices(labels, 0.2, True, seed=0)
    assert "--task regression" not in str(caught[0].message)


def test_labels_that_differ_only_in_case_are_one_class_spelled_as_most_rows_spell_it():
    labels = ["Yes", "yes", "YES", "Yes", "no", "No", "no", None, "maybe"]
    with pytest.warns(DataWarning, match=r"'Yes' \(also 'yes', 'YES'\); 'no' \(also 'No'\)"):
        merged = merge_case_variants(labels, "churn")
    assert merged == ["Yes", "Yes", "Yes", "Yes", "no", "no", "no", None, "maybe"]
    assert infer_task([v for v in merged if v]) == ("multiclass", ["Yes", "maybe", "no"])
    # Nothing to merge, or numbers (`1e3` and `1E3` are one number anyway): as given, silently.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert merge_case_variants(["a", "b"]) == ["a", "b"]
        assert merge_case_variants(["1e3", "1E3"]) == ["1e3", "1E3"]


def test_target_labels_read_another_case_of_a_class_as_that_class():
    assert target_labels(["YES", "no", "No", "other"], ["Yes", "no"]) == [
        "Yes",
        "no",
        "no",
        "other",
    ]
    assert target_labels(["1.0", "2"], ["1", "2"]) == ["1", "2"]
    assert target_labels(["x"], None) == ["x"]
