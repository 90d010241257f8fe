"""`keras_nnperf.tabular.spreadsheet`: a title above the header, notes below, total rows."""

import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import DataError, DataWarning, read_csv
from keras_nnperf.tabular.spreadsheet import summary_rows, summary_word, table_lines, units_rows

HEADER = ["temp", "humidity", "load"]
ROWS = [["21.5", "40", "63.1"], ["19.0", "55", "65.4"], ["25.2", "38", "70.2"]]


@pytest.mark.parametrize(
    "lines, expected",
    [
        ([HEADER, *ROWS], (0, 4)),
        # A title in A1, as Excel writes it (padded or not), and a blank-cell line under it.
        ([["Plant load report 2020"], HEADER, *ROWS], (1, 5)),
        ([["Plant load report", "", ""], ["", "", ""], HEADER, *ROWS], (2, 6)),
        # Notes below: fewer fields, or a label with a colon, or a sentence, alone in A.
        ([HEADER, *ROWS, ["Source: World Bank"]], (0, 4)),
        ([HEADER, *ROWS, ["Note: loads in kW", "", ""], ["Data from the plant", "", ""]], (0, 4)),
        ([HEADER, *ROWS, ["Source"]], (0, 4)),  # shorter than the table, only A filled
        # Rows, not notes: a place with its other cells missing; a short line of values (a
        # row with its last field missing, `short_rows`); a header pandas writes for a Series
        # (its index has no name); one filled cell a row (`x,` then `1.5,`).
        ([HEADER, *ROWS, ["New York", "", ""]], (0, 5)),
        ([HEADER, *ROWS, ["19.9", "41"]], (0, 5)),
        ([["", "y"], ["0", "1.5"], ["1", "2.5"]], (0, 3)),
        ([["x", ""], ["1.5", ""], ["2.5", ""]], (0, 3)),
        ([["x"], ["1.5"]], (0, 2)),
        ([HEADER, ROWS[0]], (0, 2)),  # the header and one row stay, whatever they hold
        # Metadata above the header, as TMY3 writes its station: two fields or more fewer
        # than the table; R's header, one field fewer than its rows (their names), stays.
        ([["723170", "GREENSBORO"], [*HEADER, "wind"], *[[*r, "3"] for r in ROWS]], (1, 5)),
        ([["id", "GSO"], ["2020"], [*HEADER, "wind"], *[[*r, "3"] for r in ROWS]], (2, 6)),
        ([HEADER, *[["r1", *r] for r in ROWS]], (0, 4)),
        ([["a", "b"], [*HEADER, "wind"]], (0, 2)),  # no row of the table's width under it
        # A header short of names over rows of numbers: a broken file, refused as ragged.
        ([HEADER[:2], *[[*r, "3", "4"] for r in ROWS]], (0, 4)),
    ],
)
def test_table_lines_finds_the_header_and_the_last_row(lines, expected):
    assert table_lines(lines) == expected


def test_summary_words_are_read_lower_case_without_a_colon():
    assert summary_word(" Total: ") == "total"
    assert summary_word("GRAND TOTAL") == "grand total"
    assert summary_word("Summe") == "summe"
    assert summary_word("totally") is None and summary_word(None) is None


def _is_number(cell):
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_a_summary_word_among_numbers_labels_a_total_row_anywhere():
    columns = {"temp": ["21.5", "Total", "19.0"], "load": ["63.1", "128.5", "65.4"]}
    assert summary_rows(columns, _is_number) == {1: "Total"}


def test_a_summary_word_once_in_the_last_rows_labels_them():
    columns = {
        "region": ["North", "South", "Total", "Average"],
        "sales": ["10", "30", "40", "20"],
    }
    assert summary_rows(columns, _is_number) == {2: "Total", 3: "Average"}


def test_a_total_level_of_a_long_table_and_a_label_without_numbers_stay():
    # Statistics offices write `Total` as a category level, repeated down the table.
    long = {"sex": ["Male", "Female", "Total", "Male", "Female", "Total"], "n": list("123456")}
    assert summary_rows(long, _is_number) == {}
    # A mid-table `Total` in a text column may be a level too: only the last rows are judged.
    assert summary_rows({"kind": ["a", "Total", "b"], "n": ["1", "2", "3"]}, _is_number) == {}
    # A last row labelled `Mean` with no number in it is no summary of numbers.
    assert summary_rows({"kind": ["a", "b", "Mean"], "n": ["1", "2", None]}, _is_number) == {}


def test_read_csv_leaves_out_the_title_the_notes_and_the_totals(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(20, 5, 50)
    y = 2 * x + rng.normal(0, 1, 50)
    rows = "\n".join(f"{a:.3f},{b:.3f}" for a, b in zip(x, y, strict=True))
    path = tmp_path / "report.csv"
    path.write_text(
        f"Plant load report 2020\n\ntemp,load\n{rows}\nTotal,{y.sum():.3f}\n"
        f"Source: the plant's own meters\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_csv(str(path))
    messages = [str(w.message) for w in caught if w.category is DataWarning]
    assert (
        "report.csv: left out 1 line(s) above the header (a title, notes or metadata), the first "
        "'Plant load report 2020'"
    ) in messages[0]
    assert any("below the table" in m and "Source: the plant" in m for m in messages)
    # The line of the total in the file: title, blank, header, 50 rows, then it (line 54).
    assert any("left out 1 summary row(s)" in m and "line(s) 54 ('Total')" in m for m in messages)
    assert list(table.columns) == ["temp", "load"]
    assert len(table.columns["load"]) == 50
    np.testing.assert_allclose(np.array(table.columns["load"], dtype=float), y, atol=1e-3)
    assert not any("among numbers read as missing" in m for m in messages)


def test_read_csv_pads_a_short_line_inside_the_table_and_names_its_line(tmp_path):
    # Refused before as ragged; pandas and R read the missing last field as missing.
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,y\n1,2,3\n\n4,5\n6,7,8\n9,10,11\n")
    with pytest.warns(DataWarning, match=r"fewer fields than the header's 3 \(line\(s\) 4\)"):
        table = read_csv(str(path))
    assert table.columns["y"] == ["3", None, "8", "11"]


def test_a_file_of_only_totals_is_an_error(tmp_path):
    path = tmp_path / "totals.csv"
    path.write_text("region,sales\nTotal,40\n")
    with pytest.raises(DataError, match="only summary rows"):
        read_csv(str(path))


def test_lines_of_units_or_types_under_the_header_are_found():
    units = {"temp": ["degC", "21.5", "19"], "hum": ["%", "40", "55"], "load": ["kW", "6", "7"]}
    assert units_rows(units, _is_number) == 1
    # Orange's .tab: a line of types, then a line of flags (`class` over the target, `i` over
    # a column to ignore). Before, the flags were a row of missing numbers whose target was
    # `class`.
    orange = {
        "age": ["c", None, "63", "41"],
        "sex": ["d", None, "male", "female"],
        "chol": ["c", None, "233", "204"],
        "fbs": ["d", "i", "1", "0"],  # a 0/1 column Orange calls discrete
        "y": ["d", "class", "0", "1"],
    }
    assert units_rows(orange, _is_number) == 2
    orange["sex"][1], orange["fbs"][1] = "male", None  # a word that is no flag: a row
    assert units_rows(orange, _is_number) == 1
    # orange-spectroscopy's collagen table: one type (`c`) over every number column, the
    # class's `d`, then its flag. Before, `c` was a word among numbers and `class` a row.
    spectrum = {"type": ["d", "class", "collagen", "dna"], "1801.3": ["c", None, "0.1", "0.2"]}
    spectrum["1797.4"] = ["c", None, "0.3", "0.1"]
    assert units_rows(spectrum, _is_number) == 2
    spectrum["type"][0] = "dna"  # a word that is no type: a row of missing numbers
    assert units_rows(spectrum, _is_number) == 0
    # Data: one word twice (numbers missing), a number in the row, or text in one column only.
    assert (
        units_rows(
            {"a": ["-", "1", "2"], "b": ["-", "3", "4"], "y": ["yes", "no", "no"]}, _is_number
        )
        == 0
    )
    assert units_rows({"a": ["kg", "1"], "b": ["3", "4"], "c": ["m", "2"]}, _is_number) == 0
    assert units_rows({"a": ["kg", "1", "2"], "y": ["yes", "no", "no"]}, _is_number) == 0


def test_a_line_of_units_and_a_line_of_codes_under_it_are_both_found():
    # pvlib's CEC module library: `Units` then `[0]` and each field's code. Each hid that the
    # other's columns are numbers, so neither was found and 13 columns of numbers were read as
    # categories of thousands of levels.
    cec = {
        "Name": ["Units", "[0]", "A10 S72-175", "A10 S72-180", "Ab 200"],
        "Technology": [None, "cec_material", "Mono-c-Si", "Mono-c-Si", "CIGS"],
        "Bifacial": [None, "lib_is_bifacial", "0", "0", "1"],
        "A_c": ["m2", "cec_area", "1.3", "1.3", "1.6"],
        "I_sc_ref": ["A", "cec_i_sc_ref", "5.17", "5.31", "8.2"],
    }
    assert units_rows(cec, _is_number) == 2
    assert units_rows({name: cells[1:] for name, cells in cec.items()}, _is_number) == 1
    # Three lines with no number (TOA5 loggers write names, units and the processing).
    toa5 = {"t": ["s", "Smp", "x", "1", "2"], "v": ["V", "Avg", "y", "3", "4"]}
    assert units_rows(toa5, _is_number) == 3


def test_read_csv_leaves_out_metadata_above_the_header(tmp_path):
    path = tmp_path / "723170TYA.CSV"
    path.write_text(
        '723170,"GREENSBORO PIEDMONT TRIAD INT",NC,-5.0\n'
        "Date (MM/DD/YYYY),Time (HH:MM),ETR (W/m^2),GHI (W/m^2),TotCld (tenths),Alb\n"
        "01/01/1988,01:00,0,0,10,0.1\n01/01/1988,02:00,0,0,10,0.2\n01/01/1988,03:00,0,0,9,0.3\n"
    )
    with pytest.warns(DataWarning, match="1 line.s. above the header .* '723170, GREENSBORO"):
        table = read_csv(str(path))
    assert table.names[0] == "Date (MM/DD/YYYY)" and table.columns["TotCld (tenths)"][2] == "9"


def test_read_csv_leaves_out_a_line_of_units(tmp_path):
    path = tmp_path / "logger.csv"
    path.write_text("time,temp,humidity,load\nh,degC,%,kW\n1,21.5,40,6.1\n2,19.0,55,6.5\n")
    with pytest.warns(DataWarning, match="1 line.s. of units or types under the header: h degC"):
        table = read_csv(str(path))
    assert table.columns["temp"] == ["21.5", "19.0"] and table.columns["load"] == ["6.1", "6.5"]


def test_a_line_of_units_and_a_total_row_in_one_file(tmp_path):
    path = tmp_path / "logger.csv"
    path.write_text("temp,load\ndegC,kW\n21.5,6.1\n19.0,6.5\n20.0,6.3\nTotal,18.9\n")
    with pytest.warns(DataWarning) as caught:
        table = read_csv(str(path))
    messages = " | ".join(str(w.message) for w in caught)
    assert "units or types" in messages and "line(s) 6 ('Total')" in messages
    assert table.columns == {"temp": ["21.5", "19.0", "20.0"], "load": ["6.1", "6.5", "6.3"]}
