"""JSON tables: each layout pandas writes reads as the same table, through `read_csv`."""

import json

import pytest

from keras_nnperf.tabular import read_csv
from keras_nnperf.tabular.json_records import LAYOUTS, looks_like_json, records_csv

ROWS = [
    {"x": 0.1 + 0.2, "kind": "red car", "flag": True, "y": 1},
    {"x": -1e-300, "kind": None, "flag": False, "y": 0},
    {"x": 2, "kind": "a,b", "tags": [1, 2], "y": 1},
]
EXPECTED = {
    "x": [repr(0.1 + 0.2), "-1e-300", "2"],
    "kind": ["red car", None, "a,b"],
    "flag": ["True", "False", None],
    "y": ["1", "0", "1"],
    "tags": [None, None, "[1, 2]"],
}


def _text(layout):
    if layout == "records":
        return json.dumps(ROWS)
    if layout == "lines":
        return "\n".join(json.dumps(row) for row in ROWS) + "\n\n"
    names = list(dict.fromkeys(key for row in ROWS for key in row))
    if layout == "columns":  # pandas' default to_json()
        return json.dumps({n: {str(i): row.get(n) for i, row in enumerate(ROWS)} for n in names})
    data = [[row.get(n) for n in names] for row in ROWS]
    return json.dumps({"columns": names, "index": [0, 1, 2], "data": data})


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_reads_as_the_same_table(tmp_path, layout):
    # Read as a CSV before, JSON lines were columns named `{"x": 0.3...`, and an array was
    # "a header but no data rows".
    path = tmp_path / "table.json"
    path.write_text(_text(layout))
    assert records_csv(path.read_text())[1] == layout
    table = read_csv(str(path))
    assert table.columns == EXPECTED
    assert float(table.columns["x"][0]) == 0.1 + 0.2  # exactly


def test_pandas_to_json_reads_back(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.5, None, 3.0], "b": ["u", "v", None], "y": [0, 1, 0]})
    for orient in ("records", "columns", "split"):
        path = tmp_path / f"{orient}.json"
        frame.to_json(path, orient=orient)
        table = read_csv(str(path))
        assert table.columns == {
            "a": ["1.5", None, "3.0"],
            "b": ["u", "v", None],
            "y": ["0", "1", "0"],
        }
    frame.to_json(tmp_path / "lines.jsonl", orient="records", lines=True)
    assert read_csv(str(tmp_path / "lines.jsonl")).columns["b"] == ["u", "v", None]


@pytest.mark.parametrize(
    "text",
    ["[1, 2, 3]", '{"a": 1}', "[]", '[{"a": 1}\n', '{"a": 1}\n[2]\n', "[x],y\n1,2\n"],
)
def test_what_is_no_json_table_is_left_to_the_csv_reader(text):
    assert looks_like_json(text)
    assert records_csv(text) is None


def test_a_csv_whose_first_cell_starts_with_a_bracket_is_read_as_a_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("[x],y\n1,2\n3,4\n")
    assert read_csv(str(path)).columns == {"[x]": ["1", "3"], "y": ["2", "4"]}
