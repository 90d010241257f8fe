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
