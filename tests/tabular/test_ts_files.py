"""sktime's `.ts` time-series files read through `read_csv`."""

import numpy as np
import pytest

from keras_nnperf.tabular import DataError, DataWarning, TabularPreprocessor, read_csv
from keras_nnperf.tabular.ts_files import looks_like_ts

HEADER = """#Comments as the archive writes them,
#with commas: the problem's description.
@problemName GunPoint
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true 1 2
@data
"""


def _write(tmp_path, text, name="GunPoint_TRAIN.ts"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_univariate_ts_file_reads_as_the_same_series_written_as_a_csv(tmp_path):
    # Read as a CSV before, the file was ragged (its `#` notes and `@` tags), or each class was
    # glued to its series' last value (`-0.64:2`).
    rng = np.random.default_rng(0)
    series = rng.normal(size=(6, 4)).round(6)
    labels = ["1", "2", "2", "1", "1", "2"]
    lines = [
        ",".join(map(str, row)) + ":" + label for row, label in zip(series, labels, strict=True)
    ]
    with pytest.warns(DataWarning, match=r"6 case.s. of 1 dimension.s. of 4 .*'class'"):
        table = read_csv(_write(tmp_path, HEADER + "\n".join(lines) + "\n"))
    reference = tmp_path / "same.csv"
    np.savetxt(reference, series, delimiter=",", header="t1,t2,t3,t4", comments="", fmt="%.6f")
    expected = read_csv(str(reference))
    assert table.names == ["t1", "t2", "t3", "t4", "class"]
    for name in expected.names:
        np.testing.assert_array_equal(
            np.array(table.columns[name], dtype=float),
            np.array(expected.columns[name], dtype=float),
        )
    assert table.columns["class"] == labels
    pre = TabularPreprocessor.fit(table, "class")
    assert pre.task == "binary" and len(pre.features) == 4


def test_several_dimensions_of_unequal_length_are_padded_with_missing_values(tmp_path):
    # JapaneseVowels: 12 dimensions, each case's series 7 to 29 values long; `?` is missing.
    text = (
        "% a comment as ARFF writes it\n@problemName Vowels\n@timeStamps false\n"
        "@univariate false\n@dimensions 2\n@equalLength false\n@classLabel true a b\n@data\n"
        "1,2,3:4,5,6:a\n"
        "7,?:8,NaN:b\n"
    )
    with pytest.warns(DataWarning, match="series of 2 to 3 values, padded with missing values"):
        table = read_csv(_write(tmp_path, text, "vowels.ts"))
    assert table.columns == {
        "d1_t1": ["1", "7"],
        "d1_t2": ["2", None],
        "d1_t3": ["3", None],
        "d2_t1": ["4", "8"],
        "d2_t2": ["5", None],
        "d2_t3": ["6", None],
        "class": ["a", "b"],
    }


def test_a_regression_target_and_no_label(tmp_path):
    text = (
        "@problemName Tecator\n@univariate true\n@targetLabel true\n@data\n1.5,2.5:22.5\n3,4:8.4\n"
    )
    with pytest.warns(DataWarning, match="its target as column 'target'"):
        table = read_csv(_write(tmp_path, text, "tecator.ts"))
    assert table.columns["target"] == ["22.5", "8.4"]
    text = "@problemName X\n@univariate true\n@classLabel false\n@data\n1,2\n3,4\n"
    with pytest.warns(DataWarning, match=r"columns t1 \.\.\. t2$"):
        assert read_csv(_write(tmp_path, text, "x.ts")).names == ["t1", "t2"]


def test_what_is_not_a_ts_file_is_not_read_as_one():
    assert not looks_like_ts("x,y\n1,2\n")
    assert not looks_like_ts("@relation weka\n@attribute x numeric\n")  # ARFF
    assert not looks_like_ts("# notes only\n")
    assert looks_like_ts("\n# notes\n@problemName X\n")


@pytest.mark.parametrize(
    "body, message",
    [
        ("@timeStamps true\n@data\n(2007-01-01,1.5):1\n", "time stamps"),
        ("@classLabel true 1 2\n", "no @data"),
        ("@classLabel true 1 2\n@data\n", "no case"),
        ("@classLabel true 1 2\n@data\n1,2:3,4:1\n5,6:1\n", "line 5 has 1 dimension"),
    ],
)
def test_ts_files_it_cannot_read_are_a_data_error_saying_why(tmp_path, body, message):
    with pytest.raises(DataError, match=message):
        read_csv(_write(tmp_path, "@problemName Bad\n" + body, "bad.ts"))
