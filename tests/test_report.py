import os

import numpy as np
import pytest

from keras_nnperf.report import (
    Report,
    is_png,
    new_figure,
    plot_history,
    plot_schedule,
    plot_unit_fractions,
)


def test_report_writes_markdown_and_pngs(tmp_path):
    out = str(tmp_path / "rep")
    report = Report(out, "My report")
    report.add_text("Data", "- 10 rows")
    report.add_metrics("Metrics", {"accuracy": 0.912345, "epochs": 3})
    history = {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.6, 0.7], "learning_rate": [1, 2, 3]}
    path = report.add_figure("curves", plot_history(history, best_epoch=1), "Curves")
    report.add_figure("missing", None, "Schedule")
    md = open(report.write()).read()
    assert md.startswith("# My report\n")
    assert "## Data" in md and "| accuracy | 0.9123 |" in md and "| epochs | 3 |" in md
    assert "![Curves](curves.png)" in md and "not drawn" in md
    assert path == os.path.join(out, "curves.png") and is_png(path)
    assert report.figures == [path]


def test_plot_history_draws_one_panel_per_metric_with_a_validation_twin():
    history = {
        "loss": [1.0, 0.5],
        "val_loss": [1.2, 0.7],
        "accuracy": [0.5, 0.8],
        "val_accuracy": [0.4, 0.7],
        "learning_rate": [0.1, 0.2],
    }
    fig = plot_history(history, best_epoch=0)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy"]
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), [1.2, 0.7])
    assert lines[2].get_xdata()[0] == 1  # the kept epoch, 1-based


def test_plot_schedule_has_a_momentum_axis_only_when_given():
    lrs = np.linspace(0, 1e-2, 20)
    assert len(plot_schedule(lrs).axes) == 1
    fig = plot_schedule(lrs, np.linspace(0.95, 0.85, 20), "beta_1")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "beta_1"
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), lrs)


def test_is_png(tmp_path):
    fig = new_figure()
    fig.subplots().plot([0, 1])
    path = str(tmp_path / "a.png")
    fig.savefig(path)
    assert is_png(path)
    fake = tmp_path / "b.png"
    fake.write_bytes(b"GIF89a" + b"0" * 2000)
    assert not is_png(str(fake))
    assert not is_png(str(tmp_path / "none.png"))


def test_report_rejects_an_empty_title(tmp_path):
    with pytest.raises(ValueError, match="title"):
        Report(str(tmp_path), "")


def test_plot_unit_fractions():
    assert plot_unit_fractions({"act_mean/dense": [0.1]}) is None
    history = {"dead_fraction/d1": [0.5, 0.75], "saturated_fraction/d2": [0.0, 0.1]}
    fig = plot_unit_fractions(history)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["d1 (dead)", "d2 (saturated)"]
    np.testing.assert_allclose(lines[0].get_ydata(), [0.5, 0.75])


def test_comparison_says_when_the_network_loses():
    from keras_nnperf.recipe.report_text import comparison_markdown

    trivial = {"accuracy": 0.68, "log_loss": 0.63}
    linear = {"accuracy": 0.74, "log_loss": 0.52}
    baselines = {"trivial": trivial, "linear": linear}
    text = comparison_markdown({"accuracy": 0.70, "log_loss": 0.6}, baselines)
    assert "| **this network** | 0.7 | 0.6 |" in text
    assert "**The network loses:**" in text and "below the linear." in text
    text = comparison_markdown({"accuracy": 0.735}, {"trivial": trivial, "linear": linear})
    assert "about even" in text and "loses" not in text
    text = comparison_markdown({"r2": 0.6}, {"trivial": {"r2": 0.0}, "linear": {"r2": 0.5}})
    assert "at or above every baseline" in text


def test_schedule_summary_reads_the_applied_rates():
    from keras_nnperf.recipe.report_text import schedule_summary

    rates = np.concatenate([np.linspace(0.0, 1.0, 30), np.linspace(1.0, 0.001, 10), [np.nan] * 5])
    summary = schedule_summary(rates, steps_per_epoch=10)
    assert summary == {"peak": 1.0, "final": 0.001, "fall_epoch": 3, "steps": 40}
    assert schedule_summary([np.nan], 10) == {}


def test_epoch_progress_prints_plain_lines_without_a_terminal(capsys):
    import keras

    from keras_nnperf.progress import EpochProgress

    progress = EpochProgress(25)
    progress.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    progress.on_train_begin()
    for epoch in range(13):
        progress.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 0.5})
    progress.on_train_end()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0].strip() for line in lines] == [
        "epoch 1/25",
        "epoch 10/25",
        "epoch 13/25",
    ]
    assert "loss: 0.1" in lines[1] and "\x1b" not in "".join(lines)
