import importlib.util
import os
import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import (
    DataError,
    DataWarning,
    TabularPreprocessor,
    load_training_data,
    read_csv,
    read_training_table,
)


def _messages(caught):
    return " | ".join(str(w.message) for w in caught)


def test_load_training_data_end_to_end(frame):
    rows = [(i * 0.5, "xy"[i % 2], "ab"[i % 3 == 0]) for i in range(30)]
    rows[3] = ("", "x", "a")
    rows[4] = (1.0, "y", "")
    with pytest.warns(DataWarning) as caught:
        data = load_training_data(frame(rows), "y", validation_fraction=0.2, seed=1)
    messages = _messages(caught)
    assert "dropped 1 row" in messages and "column(s) a" in messages
    assert len(data.x_train) + len(data.x_val) == 29
    assert data.x_train.dtype == np.float32 and data.y_train.shape[1] == 1
    assert not np.isnan(data.x_train).any()
    assert data.ids_train is None and data.preprocessor.id_column is None
    np.testing.assert_array_equal(np.sort(np.r_[data.train_rows, data.val_rows]), np.arange(29))


def test_a_target_spelled_in_several_cases_is_one_class_in_training_and_in_new_files(frame):
    # A yes/no column typed by hand: read as written it was six classes (accuracy 0.29).
    spellings = ["Yes", "yes", "YES", "No", "no", "NO"]
    rows = [(i * 0.1, i % 3, spellings[i % 6]) for i in range(60)]
    with pytest.warns(DataWarning, match="differ only in case"):
        data = load_training_data(frame(rows), "y", validation_fraction=0.25, seed=0)
    pre = data.preprocessor
    assert (pre.task, pre.classes) == ("binary", ["No", "Yes"])
    expected = np.array([s.lower() == "yes" for _, _, s in rows], "float32")
    np.testing.assert_array_equal(
        np.r_[data.y_train, data.y_val].ravel(), expected[np.r_[data.train_rows, data.val_rows]]
    )
    # A new file with the target in any of the spellings is scored against the same classes.
    new = read_csv(frame(rows[:6], name="new.csv"))
    np.testing.assert_array_equal(pre.encode_target(new).ravel(), [1, 1, 1, 0, 0, 0])


def test_keep_makes_an_id_like_column_a_feature(frame):
    # sktime's ElectricDevices: a time step (1 to n) and a value. Read as row numbering, the
    # step was left out, and nothing was left to learn from.
    rows = [(i + 1, "xy"[i % 2], 0.5 * i) for i in range(30)]
    with pytest.warns(DataWarning, match="'a' looks like an ID"):
        assert "a" in read_training_table(frame(rows), "y").excluded
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_training_data(frame(rows), "y", keep=["a"])
    assert data.preprocessor.feature_names[0] == "a" and "a" not in data.preprocessor.excluded
    for keep, message in (
        (["nope"], "--keep: no column named 'nope'"),
        (["y"], "target"),
        (["a"], r"both a feature \(--keep\) and left out"),
    ):
        with pytest.raises(DataError, match=message):
            read_training_table(frame(rows), "y", keep=keep, drop=["a"] if keep == ["a"] else ())


def test_categorical_reads_number_codes_as_levels_spelled_as_in_the_file(frame):
    # Postal codes: numbers to every reader, categories to the user; 02134 keeps its zero.
    codes = ["02134", "10001", "94105", "60601"]
    rows = [(codes[i % 4], i % 7, round(1.5 * (i % 3) + (i % 4 == 0), 2)) for i in range(60)]
    path = frame(rows, header=("zip", "x", "y"))
    numeric = load_training_data(path, "y")
    assert numeric.preprocessor.features[0]["kind"] == "numeric"
    data = load_training_data(path, "y", categorical=["zip"])
    zip_feature = data.preprocessor.features[0]
    assert zip_feature["kind"] == "categorical" and sorted(zip_feature["categories"]) == sorted(
        codes
    )
    assert data.preprocessor.feature_names[:4] == [f"zip={c}" for c in zip_feature["categories"]]
    new = read_csv(
        frame([("94105", 3, 0.0), ("99999", 3, 0.0)], header=("zip", "x", "y"), name="n.csv")
    )
    x = data.preprocessor.transform(new, warn=False)
    level = zip_feature["categories"].index("94105")
    np.testing.assert_array_equal(x[:, :4], np.eye(4)[[level]].tolist() + [[0, 0, 0, 0]])
    # A code column of one value per row is an ID to the detector; named, it is a feature.
    ids = [(f"{i:05d}", i % 2, i % 3) for i in range(30)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "a" in read_training_table(frame(ids, name="ids.csv"), "y").excluded
        named = read_training_table(frame(ids, name="ids.csv"), "y", categorical=["a"])
    assert "a" not in named.excluded and named.categorical == ("a",)
    for kwargs, message in (
        ({"categorical": ["zp"]}, "--categorical: no column named 'zp'; did you mean 'zip'"),
        ({"categorical": ["y"]}, "--categorical names the target column 'y'"),
        ({"categorical": ["zip"], "drop": ["zip"]}, r"both a feature \(--categorical\)"),
    ):
        with pytest.raises(DataError, match=message):
            read_training_table(path, "y", **kwargs)


@pytest.mark.parametrize(
    "rows, target, message",
    [
        ([(1, 2, 0)] * 12, "nope", "not found; the columns are: a, b, y"),
        ([(1, 2, 0)] * 12, "y", "single class"),
        # A flag marked only where it holds ("Y" or empty): the message says what to do.
        (
            [(i, 2, "Y" if i % 3 else "") for i in range(12)],
            "y",
            r"single class \('Y'\); a classifier needs at least two; its 4 empty cell\(s\) "
            "were dropped as missing: if an empty cell means another class",
        ),
        ([(1, 2, i % 2) for i in range(5)], "y", "too few rows"),
        ([("", "", i % 2) for i in range(12)], "y", "no feature columns left"),
    ],
)
def test_load_training_data_errors(frame, rows, target, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataError, match=message):
            load_training_data(frame(rows), target)


def test_an_empty_column_is_left_out_with_a_warning(frame):
    with pytest.warns(DataWarning, match="column 'b' has no usable value"):
        data = load_training_data(frame([(i * 0.5, "", i % 2) for i in range(12)]), "y")
    assert data.preprocessor.feature_names == ["a"]


@pytest.mark.parametrize("constant", ["7", "same"])
def test_a_constant_column_is_left_out_with_a_warning(frame, constant):
    rows = [(i * 0.5, constant, i % 2) for i in range(12)]
    with pytest.warns(DataWarning, match=f"column 'b' has a single value \\({constant}\\)"):
        data = load_training_data(frame(rows), "y")
    assert data.preprocessor.feature_names == ["a"]
    assert data.preprocessor.excluded["b"].startswith("a single value")
    rows[3] = (1.5, "", 1)  # with a missing cell, the indicator or the zeros carry something
    with pytest.warns(DataWarning, match="missing values"):
        data = load_training_data(frame(rows), "y", seed=2)
    assert 3 in data.train_rows
    expected = ["a", "b", "b=missing"] if constant == "7" else ["a", "b=same"]
    assert data.preprocessor.feature_names == expected


def test_drop_leaves_columns_out_and_is_remembered(frame):
    rows = [(i * 0.5, "xyz"[i % 3], i % 2) for i in range(20)]
    data = load_training_data(frame(rows), "y", drop=["b"])
    assert data.preprocessor.feature_names == ["a"] and data.preprocessor.dropped == ["b"]
    assert load_training_data(frame(rows), "y", drop="b").preprocessor.dropped == ["b"]


def test_names_copied_from_a_padded_header_match_its_stripped_names(frame):
    path = frame([(i * 0.5, "xyz"[i % 3], i % 2) for i in range(20)], header=(" a ", " b ", " y "))
    data = load_training_data(path, " y ", drop=[" b "])
    assert data.preprocessor.target == "y"
    assert data.preprocessor.feature_names == ["a"] and data.preprocessor.dropped == ["b"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"drop": ["b", "nope"]}, "--drop: no column named 'nope'; the columns are: a, b, y"),
        ({"drop": ["y"]}, "--drop names the target column 'y'"),
        ({"id_column": "nope"}, "--id: no column named 'nope'"),
        ({"id_column": "y"}, "--id names the target column"),
        ({"id_column": "a", "drop": ["a"]}, "both dropped and the ID column"),
    ],
)
def test_drop_and_id_errors_name_the_column(frame, kwargs, message):
    path = frame([(i, "xyz"[i % 3], i % 2) for i in range(20)])
    with pytest.raises(DataError, match=message):
        load_training_data(path, "y", **kwargs)


def test_an_id_column_sorted_with_the_class_is_detected_and_left_out(frame):
    # Sorted by class, the id alone would separate the classes on the validation split.
    rows = [(i + 1, float(i % 5), int(i >= 15)) for i in range(30)]
    path = frame(rows, header=("id", "x", "y"))
    with pytest.warns(DataWarning, match="column 'id' looks like an ID \\(named id\\)") as caught:
        data = load_training_data(path, "y", seed=0)
    assert "its values go with the predictions" in _messages(caught)
    pre = data.preprocessor
    assert pre.feature_names == ["x"] and pre.id_column == "id" and not pre.id_given
    assert data.ids_val == [str(i + 1) for i in data.val_rows]
    assert data.ids_train == [str(i + 1) for i in data.train_rows]


def test_an_explicit_id_column_is_carried_and_other_ids_are_excluded(frame):
    rows = [(f"p{i}", f"n{i}", i % 4, i % 2) for i in range(20)]
    path = frame(rows, header=("key", "name", "x", "y"))
    with pytest.warns(DataWarning, match="column 'name' looks like an ID \\(text"):
        data = load_training_data(path, "y", id_column="key")
    pre = data.preprocessor
    assert pre.id_column == "key" and pre.id_given and pre.feature_names == ["x"]
    assert list(pre.excluded) == ["name"]
    assert data.ids_train[0] == f"p{data.train_rows[0]}"


def test_two_id_named_columns_leave_the_id_unset(frame):
    rows = [(i, 100 + i, i % 3, i % 2) for i in range(20)]
    with pytest.warns(DataWarning):
        pre = load_training_data(frame(rows, header=("id", "row_id", "x", "y")), "y").preprocessor
    assert pre.id_column is None and set(pre.excluded) == {"id", "row_id"}


def test_rows_with_a_non_finite_target_are_dropped(frame):
    rows = [(i % 5, "x", 0.5 * i) for i in range(20)]
    rows[4] = (1, "x", "inf")
    with pytest.warns(DataWarning, match="dropped 1 row\\(s\\) whose target 'y' is inf"):
        prepared = read_training_table(frame(rows), "y")
    assert prepared.num_rows == 19 and prepared.task == "regression"


def test_a_semicolon_file_with_decimal_commas_and_overflowing_values_loads(frame):
    rows = [(f"{i},5", f"{(i % 7 + 1) * 2.5e307:.3e}", "ab"[i % 2]) for i in range(24)]
    rows[5] = ("inf", rows[5][1], rows[5][2])
    path = frame(rows, header=("a", "big", "y"), delimiter=";")
    with pytest.warns(DataWarning) as caught:
        data = load_training_data(path, "y")
    messages = _messages(caught)
    assert "semicolon-separated with decimal commas; read as numbers: a" in messages
    assert "treated as missing in column(s) a (1)" in messages
    assert data.preprocessor.feature_names == ["a", "a=missing", "big"] or (
        data.preprocessor.feature_names == ["a", "big"] and 5 in data.val_rows
    )
    x = np.concatenate([data.x_train, data.x_val])
    assert np.isfinite(x).all() and np.abs(x).max() < 10


def test_folds_encode_each_with_its_own_statistics(frame):
    rows = [(i * 0.5, "xyz"[i % 3], i % 2) for i in range(30)]
    prepared = read_training_table(frame(rows), "y")
    folds = prepared.folds(3, seed=0)
    means = []
    for k, (train, val) in enumerate(folds):
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)  # warn=False: nothing repeats
            data = prepared.encode(train, val, warn=k == 0)
        np.testing.assert_array_equal(data.val_rows, val)
        means.append(data.preprocessor.features[0]["mean"])
        assert data.preprocessor.features[0]["mean"] == pytest.approx(np.mean(train * 0.5))
    assert len(set(means)) == 3


def _penguins_raw():
    spec = importlib.util.find_spec("palmerpenguins")
    if spec is None:
        pytest.skip("palmerpenguins is not installed")
    return os.path.join(os.path.dirname(spec.origin), "data", "penguins-raw.csv")


def test_a_real_table_loads_saves_and_predicts_the_same(tmp_path):
    """palmerpenguins' raw table: quoted commas, NA cells, dates, repeated IDs, 17 columns."""
    path = _penguins_raw()
    with pytest.warns(DataWarning) as caught:
        data = load_training_data(path, "Species", seed=0)
    messages = _messages(caught)
    assert "missing values in column(s) Culmen Length (mm)" in messages
    assert "column 'Region' has a single value (Anvers) in the training split" in messages
    pre = data.preprocessor
    assert pre.task == "multiclass" and pre.num_classes == 3
    assert len(data.x_train) + len(data.x_val) == 344
    assert "Culmen Length (mm)=missing" in pre.feature_names
    embedded = {e["name"] for e in pre.embedding_columns}
    assert "Individual ID" in embedded  # many levels: an embedding
    date = next(f for f in pre.features if f["name"] == "Date Egg")
    assert date["kind"] == "numeric" and date["date"]  # days since 1970, not 50 levels
    assert np.isfinite(data.x_train).all() and data.x_train.shape[1] == pre.num_features
    saved = str(tmp_path / "pre.json")
    pre.save(saved)
    again = TabularPreprocessor.load(saved)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        x = again.transform(read_csv(path))
    np.testing.assert_array_equal(x[data.val_rows], data.x_val)


def test_a_real_sklearn_table_loads(tmp_path):
    sklearn = pytest.importorskip("sklearn")
    source = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "wine_data.csv")
    lines = open(source).read().splitlines()[1:]  # its first line is a count, not a header
    header = ",".join([f"f{i}" for i in range(13)] + ["cultivar"])
    path = tmp_path / "wine.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    data = load_training_data(str(path), "cultivar")
    assert data.preprocessor.task == "multiclass" and data.preprocessor.num_features == 13
    assert len(data.x_train) + len(data.x_val) == 178


def test_training_rows_of_a_file_sorted_by_target_come_shuffled(frame):
    # R's tables often come sorted by the target: the first rows of x_train are what the model
    # doctor and the activation probe take as a sample, so they must hold every class.
    rows = [(i / 2, "xy"[i % 2], int(i >= 60)) for i in range(100)]
    data = load_training_data(frame(rows), "y", seed=0)
    assert 0 < data.y_train[:20].mean() < 1
    assert not np.all(np.diff(data.train_rows) > 0)  # not in file order
    a = np.arange(100) / 2
    mean, std = a[data.train_rows].mean(), a[data.train_rows].std()
    expected = (a[data.train_rows] - mean) / std
    np.testing.assert_allclose(data.x_train[:, 0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(data.y_train[:, 0], data.train_rows >= 60)
    assert list(data.val_rows) == sorted(data.val_rows)
    again = load_training_data(frame(rows, name="again.csv"), "y", seed=0)
    np.testing.assert_array_equal(again.train_rows, data.train_rows)  # seeded
    prepared = read_training_table(frame(rows, name="folds.csv"), "y")
    for train, val in prepared.folds(3, seed=0):
        assert 0 < np.mean(train[:20] >= 60) < 1
        assert list(val) == sorted(val)


def test_an_unknown_column_name_offers_the_closest_one(frame):
    path = frame([(1, 2, 0), (3, 4, 1)] * 6, header=("Age", "income", "Survived"))
    with pytest.raises(DataError, match="not found; did you mean 'Survived'\\? the columns are"):
        load_training_data(path, "survived")
    with pytest.raises(DataError, match="--drop: no column named 'incme'; did you mean 'income'"):
        load_training_data(path, "Survived", drop=["incme"])
    with pytest.raises(DataError, match="--id: no column named 'zzz'; the columns are: Age"):
        load_training_data(path, "Survived", id_column="zzz")


def test_a_positive_target_over_many_orders_of_magnitude_gets_the_log_advice(frame):
    # mglearn's RAM prices, 4.1e8 down to 0.0035: R² 0.07 in their own units.
    prices = [4.1e8 * 10.0 ** (-i / 3) for i in range(30)]
    path = frame([(1957 + i, p, 0) for i, p in enumerate(prices)], header=("year", "price", "z"))
    with pytest.warns(DataWarning, match=r"'price' is positive and spans 9 orders of magnitude"):
        read_training_table(path, "price")
    # Zeros beside them (cost-of-capital-calculator's fixed assets: 12% zeros, the rest 6.5 to
    # 8.4e11): the same advice, and --log-target trains log(y + c).
    zero = frame([(i, p, 0) for i, p in enumerate([0.0, *prices[1:]])], name="zero.csv")
    with pytest.warns(DataWarning, match=r"'b' has 1 zero\(s\) and positive values that span 9 "):
        read_training_table(zero, "b")
    with warnings.catch_warnings(record=True) as caught:  # a negative value; under four decades
        warnings.simplefilter("always")
        read_training_table(frame([(i, p, 0) for i, p in enumerate([-1.0, *prices[1:]])]), "b")
        read_training_table(frame([(i, 1 + i * 300, 0) for i in range(30)]), "b")
    assert not [w for w in caught if "orders of magnitude" in str(w.message)]


def test_a_target_code_for_missing_leaves_the_target_and_the_codes_are_classes(frame):
    # pyvolcans' volcanoes: tectonic setting 1 to 11, -9999 where unknown. With the code the
    # classes read as a quantity (regression, R2 -331); without it they are 11 classes.
    settings = [1 + i % 11 for i in range(120)] + [-9999] * 3
    path = frame([(i, i % 7, s) for i, s in enumerate(settings)], header=("n", "x", "setting"))
    with pytest.warns(DataWarning, match=r"'setting': -9999 \(3 row\(s\)\) lies far outside"):
        prepared = read_training_table(path, "setting")
    assert prepared.task == "multiclass" and len(prepared.classes) == 11
    assert prepared.table.num_rows == 120
