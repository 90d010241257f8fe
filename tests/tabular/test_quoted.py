"""`keras_nnperf.tabular.quoted`: numbers a file writes in quotes, as R writes factors."""

import csv
import io
import warnings

import pytest

from keras_nnperf.tabular import DataError, DataWarning, quoted, read_csv, read_training_table


def quoted_number_columns(text, delimiter):
    """The module's function with a plain-number rule of the test's own (read_csv has its own)."""
    return quoted.quoted_number_columns(
        text, delimiter, lambda cell: cell.lstrip("+-").replace(".", "", 1).isdigit()
    )


def r_csv(rows, header=("wage", "occ", "sex")):
    """What R's `write.csv` writes: row names and text quoted, numbers bare, NA bare."""
    lines = ['"",' + ",".join(f'"{h}"' for h in header)]
    for i, (wage, occ, sex) in enumerate(rows, start=1):
        lines.append(f'"{i}",{wage},{"NA" if occ is None else f"{chr(34)}{occ}{chr(34)}"},"{sex}"')
    return "\n".join(lines) + "\n"


def test_r_factors_of_digits_are_found_and_row_names_are_not():
    text = r_csv([(10.5, "9130", "m"), (12.0, "930", "f"), (9.25, None, "f")])
    assert quoted_number_columns(text, ",") == ("occ",)
    # R's `write.table`: the header has no field over the row names.
    text = text.replace('"",', "", 1)
    assert quoted_number_columns(text, ",") == ("occ",)


def test_a_file_that_quotes_everything_or_nothing_says_nothing():
    rows = [[10.5, 9130, "m"], [12.0, 930, "f"]]
    for quoting in (csv.QUOTE_ALL, csv.QUOTE_MINIMAL):
        out = io.StringIO()
        writer = csv.writer(out, quoting=quoting)
        writer.writerows([["wage", "occ", "sex"], *rows])
        assert quoted_number_columns(out.getvalue(), ",") == ()
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_NONNUMERIC).writerows([["wage", "occ"], [1.5, "9130"]])
    assert quoted_number_columns(out.getvalue(), ",") == ("occ",)  # pandas' QUOTE_NONNUMERIC


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_other_delimiters_and_a_mixed_column(delimiter):
    text = delimiter.join(["a", "b", "c"]) + "\n"
    text += "\n".join(delimiter.join(['"1"', "2.5", '"x"' if i else '"3"']) for i in range(5))
    assert quoted_number_columns(text, delimiter) == ("a",)  # c holds a word: text anyway
    assert quoted_number_columns("a b\n1 2\n", " ") == ()  # aligned columns are not quoted


def test_read_csv_keeps_them_but_not_numbers_quoted_for_their_grouping_commas(write):
    text = 'n,amount,code\n1,"1,234","07"\n2,"999","12"\n3,"5","07"\n'
    with pytest.warns(DataWarning, match="grouping thousands"):
        table = read_csv(write(text))
    assert table.quoted_numbers == ("code",)
    assert table.take([0, 1]).quoted_numbers == ("code",)


def test_training_reads_quoted_numbers_as_categories_unless_told_numeric(write):
    rows = [(10.5 + i, ["9130", "930", "4700"][i % 3], "mf"[i % 2]) for i in range(30)]
    path = write(r_csv(rows))
    with pytest.warns(DataWarning) as caught:
        prepared = read_training_table(path, "wage")
    notes = [str(w.message) for w in caught if "in quotes" in str(w.message)]
    assert notes == [
        "column(s) occ hold numbers the file writes in quotes, as R writes factors and codes, "
        "and other numbers bare: read as categories (pass --numeric occ to read them as "
        "numbers)"
    ]
    assert prepared.categorical == ("occ",)
    occ = next(f for f in prepared.split(0.2, 0).preprocessor.features if f["name"] == "occ")
    assert occ["kind"] == "categorical" and sorted(occ["categories"]) == ["4700", "9130", "930"]
    for kwargs in ({"numeric": ["occ"]}, {"drop": ["occ"]}, {"categorical": ["occ"]}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prepared = read_training_table(path, "wage", **kwargs)
        assert not [w for w in caught if "in quotes" in str(w.message)]
    data = read_training_table(path, "wage", numeric=["occ"]).split(0.2, 0)
    assert next(f for f in data.preprocessor.features if f["name"] == "occ")["kind"] == "numeric"
    for kwargs, message in (
        ({"numeric": ["oc"]}, "--numeric: no column named 'oc'; did you mean 'occ'"),
        ({"numeric": ["occ"], "categorical": ["occ"]}, "both --categorical and --numeric"),
    ):
        with pytest.raises(DataError, match=message):
            read_training_table(path, "wage", **kwargs)
