"""Comment lines (`#`): NumPy's commented header, notes above the table and among its rows."""

import numpy as np
import pytest

from keras_nnperf.tabular import DataWarning, read_csv
from keras_nnperf.tabular.comments import leading_comments, uncommented

DATA = np.array([[21.5, 40.0, 6.1, 1.0], [19.0, 55.0, 6.5, 0.0], [20.0, 50.0, 6.3, 1.0]])


@pytest.mark.parametrize("delimiter", [",", " ", "\t", ";"])
def test_numpy_savetxt_header_is_the_header(tmp_path, delimiter):
    # `np.savetxt(..., header=...)` writes `# temp,hum,load,y`. Before, the file's first row
    # became its header (a space-delimited one was "a single column").
    path = tmp_path / "saved.txt"
    np.savetxt(path, DATA, delimiter=delimiter, header=delimiter.join(["temp", "hum", "load", "y"]))
    with pytest.warns(DataWarning, match="1 comment line.s. .*the last one read as the header"):
        table = read_csv(str(path))
    assert table.names == ["temp", "hum", "load", "y"]
    np.testing.assert_array_equal(
        np.array([table.columns[n] for n in table.names], dtype=float).T, DATA
    )


def test_notes_above_the_header_and_among_the_rows_are_left_out(tmp_path):
    path = tmp_path / "logger.csv"
    path.write_text(
        "# Data from station GSO, units: degC, %, kW\n"  # four fields: was the header
        "# created 2020-01-01\n"
        "temp,hum,load,y\n"
        "21.5,40,6.1,1\n"
        "# sensor restarted\n"  # one field among rows of four: was a ragged line
        "19.0,55,6.5,0\n"
        "#3 sensor,50,6.3,1\n"  # a value starting with # in a row of the table's width: data
    )
    with pytest.warns(DataWarning) as caught:
        table = read_csv(str(path))
    messages = " | ".join(str(w.message) for w in caught)
    assert "2 comment line(s) starting with # above the table, left out" in messages
    assert "left out 1 comment line(s) starting with # among the rows: 5" in messages
    assert table.names == ["temp", "hum", "load", "y"]
    assert table.columns["temp"] == ["21.5", "19.0", "#3 sensor"]


def test_leading_comments_tells_a_commented_header_from_notes():
    def is_data(row):
        return all(c.replace(".", "").isdigit() for c in row)

    saved = [["# a", "b"], ["1.5", "2"], ["3", "4"]]
    assert leading_comments(saved, is_data) == (1, ["a", "b"])
    notes = [["# notes"], ["a", "b"], ["1.5", "2"]]
    assert leading_comments(notes, is_data) == (1, None)
    # A note of the table's width over a header (not data): a note.
    assert leading_comments([["# x", "y"], ["a", "b"], ["1", "2"]], is_data) == (1, None)
    assert leading_comments([["a", "b"], ["1", "2"]], is_data) == (0, None)
    assert leading_comments([["# only"], ["# notes"]], is_data) == (0, None)
    assert uncommented(["#", "a", "b"]) == ["a", "b"] and uncommented(["#a", "b"]) == ["a", "b"]
    # Names that carry their own marks (`#1)No  #2)log(U)`) keep them.
    assert uncommented([" #1)No", "#2)log(U)"]) == ["#1)No", "#2)log(U)"]
    assert uncommented(["#", "#a"]) == ["#a"]
