import warnings

from keras_nnperf.tabular import DataWarning, TabularPreprocessor, read_csv
from keras_nnperf.tabular.codes import code_like_columns


def test_whole_numbers_of_a_few_values_with_a_code_name_are_suggested(write):
    rows = []
    for i in range(60):
        rows.append(
            f"{1000 + 7 * (i % 6)},{i % 5 + 1},{i % 4 + 1},{i % 2},{0.5 * i},{i},{i % 3},{i % 2}"
        )
    header = "firmbr,city,bedrooms,StoreType,price,zipcode,real_estate,y"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        pre = TabularPreprocessor.fit(read_csv(write(header + "\n" + "\n".join(rows) + "\n")), "y")
    # bedrooms: a count by its name; StoreType: two values (a flag); price: not whole;
    # zipcode: 60 values, still a code; real_estate: 'estate' is no 'state'.
    assert code_like_columns(pre) == ["firmbr", "city", "zipcode"]
    levels = {f["name"]: f.get("whole_levels") for f in pre.features}
    assert levels == {
        "firmbr": 6,
        "city": 5,
        "bedrooms": 4,
        "StoreType": 2,
        "price": None,
        "zipcode": 60,
        "real_estate": 3,
    }


def test_more_than_code_max_levels_are_no_codes(write):
    rows = "\n".join(f"{i},{i % 2}" for i in range(300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        pre = TabularPreprocessor.fit(read_csv(write("region,y\n" + rows + "\n")), "y")
    assert "whole_levels" not in pre.features[0] and code_like_columns(pre) == []
