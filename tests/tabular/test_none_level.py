import pytest

from keras_nnperf.tabular.csv_table import is_missing
from keras_nnperf.tabular.none_level import none_is_a_level


def _number(cell):
    try:
        float(cell)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize(
    "cells, level",
    [
        (["None", "Insomnia", "Sleep Apnea"], True),
        ([" None ", "Stone", "BrkFace", "", "NA"], True),  # other markers stay markers
        (["NONE", "Apnea"], True),
        (["none", "Type 2", "Type 1"], True),  # words with digits are words
        (["None", "1.5", "2"], False),  # among numbers: missing, as pandas reads it
        (["None", "Severe", "3"], False),  # one number is enough
        (["None", "True", "False"], False),  # str() of an optional flag
        (["N", "Y", "None"], False),  # healthcareai's readmission flag: not recorded
        (["yes", "No", "NONE"], False),
        (["None", "Yes", "No", "Maybe"], True),  # a third word: no flag
        (["None", "2021-03-01", "2021-04-01"], False),  # an end date not reached yet
        (["None", "", "NA"], False),  # nothing else to be a level among
        (["Insomnia", "Apnea"], False),  # no None at all
        (["Nones", "Insomnia"], False),
    ],
)
def test_none_is_a_level_among_words_only(cells, level):
    assert none_is_a_level(cells, is_missing, _number) is level
