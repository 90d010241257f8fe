import pytest

from keras_nnperf.tabular import DataError, DataWarning, read_csv
from keras_nnperf.tabular.short_rows import padded_short_rows


def test_short_rows_are_padded_with_missing_fields_and_reported_by_line():
    body = [["1", "2", "3"], ["4"], ["5", "6"], ["7", "8", "9"]]
    padded, short = padded_short_rows(body, [2, 3, 4, 5], 3, "t.csv")
    assert padded == [["1", "2", "3"], ["4", "", ""], ["5", "6", ""], ["7", "8", "9"]]
    assert short == [3, 4]
    assert body[1] == ["4"]  # the caller's rows are not changed in place


def test_full_rows_come_back_unchanged():
    body = [["1", "2"], ["3", "4"]]
    assert padded_short_rows(body, [2, 3], 2, "t.csv") == (body, [])


def test_a_line_break_in_an_unquoted_field_is_refused_naming_both_lines():
    # `1,first half<newline>second half,3` under `a,b,c`: two short rows that make one.
    body = [["0", "x", "1"], ["1", "first half"], ["second half", "3"]]
    with pytest.raises(DataError, match="line 3 has 2 fields and line 4 has 2.*line break"):
        padded_short_rows(body, [2, 3, 4], 3, "t.csv")


def test_two_short_rows_that_do_not_add_up_to_one_are_both_padded():
    body = [["1"], ["2"]]  # 1 + 1 - 1 fields is not 3
    assert padded_short_rows(body, [2, 3], 3, "t.csv")[1] == [2, 3]


def test_read_csv_reads_a_record_whose_empty_trailing_fields_were_left_out(tmp_path):
    # country_converter's country_data.tsv: the Aland Islands' row has 50 of 53 fields.
    header = ["name", "iso", "continent", "ioc", "fifa"]
    rows = [["Afghanistan", "AFG", "Asia", "AFG", "AFG"], ["Åland", "ALA", "Europe"]]
    rows += [["Albania", "ALB", "Europe", "ALB", "ALB"]]
    path = tmp_path / "countries.tsv"
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    with pytest.warns(DataWarning, match=r"1 line\(s\) have fewer fields .*\(line\(s\) 3\)"):
        table = read_csv(str(path))
    assert table.columns["continent"] == ["Asia", "Europe", "Europe"]
    assert table.columns["ioc"] == ["AFG", None, "ALB"]
    assert table.columns["fifa"] == ["AFG", None, "ALB"]


def test_read_csv_still_refuses_a_row_longer_than_the_header(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b,y\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(DataError, match="line 3 has 4 fields but the header has 3"):
        read_csv(str(path))
