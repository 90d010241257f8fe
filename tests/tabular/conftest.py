"""Fixtures of the tabular tests: tiny CSV files written in the test's tmp_path."""

import pytest


@pytest.fixture
def write(tmp_path):
    """`write(text, name="data.csv")` writes `text` into tmp_path and returns the path."""

    def write_text(text, name="data.csv"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write_text


@pytest.fixture
def frame(write):
    """`frame(rows, header=("a", "b", "y"), delimiter=",")` writes rows as a CSV file."""

    def write_rows(rows, header=("a", "b", "y"), delimiter=",", name="data.csv"):
        lines = [delimiter.join(header)] + [delimiter.join(map(str, r)) for r in rows]
        return write("\n".join(lines) + "\n", name)

    return write_rows
