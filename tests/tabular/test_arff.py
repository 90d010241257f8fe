"""Weka's ARFF files read through `read_csv`, checked against scipy's own ARFF reader."""

import numpy as np
import pytest
from scipy.io import arff as scipy_arff

from keras_nnperf.tabular import DataError, TabularPreprocessor, read_csv
from keras_nnperf.tabular.arff import arff_csv, looks_like_arff

# As scikit-survival ships veteran.arff (trimmed), with a comment, quoted names and values.
VETERAN = """% Taken from http://lib.stat.cmu.edu/datasets/veteran
% a second comment line

@relation Veteran_s_Administration_Lung_Cancer_Trial
@attribute Treatment {standard,test}
@attribute 'Cell type' {adeno,large,smallcell,squamous}
@ATTRIBUTE Survival_in_days numeric
@attribute Status {censored,dead}
@attribute Karnofsky_score REAL
@data
standard,squamous,72,dead,60
standard,squamous,411,dead,?
test,large,228,censored,60.5
% a comment among the rows
test,adeno,?,dead,70
"""


def test_an_arff_file_reads_as_scipy_reads_it(tmp_path):
    # Read as a CSV before, the file was a column named `% Taken from ...` and ragged.
    path = tmp_path / "veteran.arff"
    path.write_text(VETERAN)
    table = read_csv(str(path))
    data, meta = scipy_arff.loadarff(str(path))
    assert table.names == list(meta.names())
    for name in meta.names():
        ours = table.columns[name]
        theirs = data[name]
        if meta[name][0] == "numeric":
            expected = [None if np.isnan(v) else v for v in theirs.astype(float)]
            assert [None if c is None else float(c) for c in ours] == expected
        else:
            assert ours == [v.decode() for v in theirs]
    # Then every rule of the reader applies: numbers, categories, a missing target dropped.
    pre = TabularPreprocessor.fit(table, "Status")
    kinds = {f["name"]: f["kind"] for f in pre.features}
    assert kinds == {
        "Treatment": "categorical",
        "Cell type": "categorical",
        "Survival_in_days": "numeric",
        "Karnofsky_score": "numeric",
    }


def test_quotes_escapes_and_a_quoted_question_mark():
    # scipy's reader keeps the quotes of a quoted nominal value; the format's own rules here.
    text = (
        "@relation t\n"
        '@attribute "the name" string\n'
        "@attribute 'it\\'s' string\n"
        "@attribute when date 'yyyy-MM-dd HH:mm:ss'\n"
        "@attribute y numeric\n"
        "@data\n"
        '"a, b",\'don\\\'t\',"2012-01-31 06:16:41",1\n'
        "'?',?,?,2\n"
        " b , 'c d' ,  2012-02-01 00:00:00 , 3\n"  # blanks around values are no part of them
    )
    assert looks_like_arff(text)
    table_text = arff_csv(text, "t.arff")
    assert table_text.splitlines() == [
        "the name,it's,when,y",
        '"a, b",don\'t,2012-01-31 06:16:41,1',
        "?,,,2",  # a quoted ? is the text ?, a bare one is missing
        "b,c d,2012-02-01 00:00:00,3",
    ]


def test_what_is_not_arff_is_not_read_as_arff():
    assert not looks_like_arff("x,y\n1,2\n")
    assert not looks_like_arff("% only comments\n")
    assert looks_like_arff("\n% header\n@RELATION x\n")


@pytest.mark.parametrize(
    "body, message",
    [
        ("@attribute x numeric\n@data\n{0 1.5}\n", "sparse ARFF row"),
        ("@attribute bag relational\n@attribute y numeric\n@end bag\n@data\n", "relational"),
        ("@attribute x numeric\n@attribute y numeric\n@data\n1,2\n3\n", "line 6 has 1 values"),
        ("@attribute x numeric\n", "no @data"),
        ("@data\n1,2\n", "no @attribute"),
    ],
)
def test_arff_it_cannot_read_is_a_data_error_saying_why(tmp_path, body, message):
    path = tmp_path / "bad.arff"
    path.write_text("@relation bad\n" + body)
    with pytest.raises(DataError, match=message):
        read_csv(str(path))
