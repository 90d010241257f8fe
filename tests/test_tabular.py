import json

import numpy as np
import pytest

from keras_nnperf import tabular
from keras_nnperf.tabular import (
    DataError,
    DataWarning,
    TabularPreprocessor,
    infer_task,
    load_training_data,
    read_csv,
    split_indices,
)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def frame(tmp_path, rows, header=("a", "b", "y")):
    lines = [",".join(header)] + [",".join(map(str, r)) for r in rows]
    return write(tmp_path, "\n".join(lines) + "\n")


def test_read_csv_marks_missing_values_and_strips(tmp_path):
    table = read_csv(write(tmp_path, "a, b\n1, NA\n?,x\n 3 ,\n"))
    assert table.names == ["a", "b"]
    assert table.columns["a"] == ["1", None, "3"]
    assert table.columns["b"] == [None, "x", None]
    assert table.num_rows == 3


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary data"),
        (b"a,b\n", "no data rows"),
        (b"a,b\n1,2,3\n", "line 2 has 3 fields"),
        (b"justone\n1\n", "single column"),
        (b"a,a\n1,2\n", "duplicate column"),
        (b"a,b\n\xff\xfe1,2\n", "not UTF-8"),
        (b'a,b\n"1,2\n', "not a valid CSV"),
    ],
)
def test_read_csv_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_csv(str(path))


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_csv(str(tmp_path / "nope.csv"))


@pytest.mark.parametrize(
    "values, task, classes",
    [
        (["0", "1", "1", "0"], "binary", ["0", "1"]),
        (["1.0", "2", "3", "1", "2", "3"], "multiclass", ["1", "2", "3"]),
        (["cat", "dog", "cat", "bird"], "multiclass", ["bird", "cat", "dog"]),
        (["yes", "no"], "binary", ["no", "yes"]),
        (["0.5", "1.25", "3.0", "2.0"], "regression", None),
        ([str(i) for i in range(40)], "regression", None),  # many distinct integers
    ],
)
def test_infer_task(values, task, classes):
    assert infer_task(values) == (task, classes)


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


def test_standardization_uses_training_rows_only(tmp_path):
    rows = [(i, "x" if i % 2 else "z", i % 2) for i in range(10)]
    table = read_csv(frame(tmp_path, rows))
    train = np.arange(6)
    pre = TabularPreprocessor.fit(table, "y", rows=train)
    a = np.arange(6, dtype=float)
    assert pre.features[0]["mean"] == pytest.approx(a.mean())
    assert pre.features[0]["std"] == pytest.approx(a.std())
    x = pre.transform(table)
    np.testing.assert_allclose(x[:, 0], (np.arange(10) - a.mean()) / a.std(), rtol=1e-6)
    assert pre.feature_names == ["a", "b=x", "b=z"]
    np.testing.assert_array_equal(x[:, 1:], [[0, 1], [1, 0]] * 5)


def test_unseen_category_and_missing_values_encode_as_expected(tmp_path):
    table = read_csv(frame(tmp_path, [(1, "x", 0), (3, "z", 1), (5, "x", 0), (7, "z", 1)]))
    pre = TabularPreprocessor.fit(table, "y")
    new = read_csv(write(tmp_path, "b,a\nw,\nx,2\n", "new.csv"))
    with pytest.warns(DataWarning, match="column\\(s\\) a"):
        x = pre.transform(new)
    assert x[0, 0] == pytest.approx((4.0 - 4.0) / pre.features[0]["std"])  # median 4 imputed
    np.testing.assert_array_equal(x[0, 1:], [0, 0])  # unseen category "w"
    np.testing.assert_array_equal(x[1, 1:], [1, 0])


def test_target_encoding_and_decoding(tmp_path):
    table = read_csv(frame(tmp_path, [(1, "x", "dog"), (2, "z", "cat"), (3, "x", "emu")]))
    pre = TabularPreprocessor.fit(table, "y")
    assert pre.task == "multiclass" and pre.classes == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(pre.encode_target(table), [1, 0, 2])
    decoded = pre.decode(np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]]))
    assert decoded["prediction"] == ["dog", "cat"]
    assert decoded["probability_emu"] == pytest.approx([0.2, 0.1])


def test_regression_target_round_trips(tmp_path):
    table = read_csv(frame(tmp_path, [(i, "x", 100.5 + 3 * i) for i in range(8)]))
    pre = TabularPreprocessor.fit(table, "y")
    assert pre.task == "regression"
    y = pre.encode_target(table)
    assert y.shape == (8, 1) and abs(float(y.mean())) < 1e-6
    np.testing.assert_allclose(pre.decode(y)["prediction"], [100.5 + 3 * i for i in range(8)])


def test_save_and_load_give_the_same_encoding(tmp_path):
    table = read_csv(frame(tmp_path, [(i, "xyz"[i % 3], i % 2) for i in range(12)]))
    pre = TabularPreprocessor.fit(table, "y")
    path = str(tmp_path / "pre.json")
    pre.save(path)
    assert json.loads(open(path).read())["task"] == "binary"
    again = TabularPreprocessor.load(path)
    np.testing.assert_array_equal(again.transform(table), pre.transform(table))
    with pytest.raises(DataError, match="cannot read"):
        TabularPreprocessor.load(str(tmp_path / "missing.json"))


def test_categories_are_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular.preprocessor, "MAX_CATEGORIES", 3)
    table = read_csv(frame(tmp_path, [(i, f"c{i}", i % 2) for i in range(10)]))
    with pytest.warns(DataWarning, match="10 categories"):
        pre = TabularPreprocessor.fit(table, "y")
    assert pre.num_features == 1 + 3


def test_load_training_data_end_to_end(tmp_path):
    rows = [(i * 0.5, "xy"[i % 2], "ab"[i % 3 == 0]) for i in range(30)]
    rows[3] = ("", "x", "a")
    rows[4] = (1.0, "y", "")
    path = frame(tmp_path, rows)
    with pytest.warns(DataWarning) as caught:
        data = load_training_data(path, "y", validation_fraction=0.2, seed=1)
    messages = " ".join(str(w.message) for w in caught)
    assert "dropped 1 row" in messages and "column(s) a" in messages
    assert len(data.x_train) + len(data.x_val) == 29
    assert data.x_train.dtype == np.float32 and data.y_train.shape[1] == 1
    assert not np.isnan(data.x_train).any()


@pytest.mark.parametrize(
    "rows, target, message",
    [
        ([(1, 2, 0)] * 12, "nope", "not found; the columns are: a, b, y"),
        ([(1, "", i % 2) for i in range(12)], "y", "no values at all: b"),
        ([(1, 2, 0)] * 12, "y", "single class"),
        ([(1, 2, i % 2) for i in range(5)], "y", "too few rows"),
    ],
)
def test_load_training_data_errors(tmp_path, rows, target, message):
    with pytest.raises(DataError, match=message):
        load_training_data(frame(tmp_path, rows), target)
