import os
import pickle

import keras
import numpy as np
import pytest

from keras_nnperf.report import (
    PNG_SIGNATURE,
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
    path = report.add_figure(
        "curves", plot_history(history, best_epoch=1), "Curves of `loss`; in *nats*"
    )
    report.add_figure("missing", None, "Schedule")
    md = open(report.write()).read()
    assert md.startswith("# My report\n")
    assert "## Data" in md and "| accuracy | 0.9123 |" in md and "| epochs | 3 |" in md
    # The alt text is the caption's first clause, without Markdown; the caption is in full.
    assert "![Curves of loss](curves.png)" in md and "*Curves of `loss`; in *nats**" in md
    assert "not drawn" in md
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
    fig = plot_history(history, best_epoch=0, labels={"loss": "log loss (nats)"})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["log loss (nats)", "accuracy"]
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), [1.2, 0.7])
    assert lines[2].get_xdata()[0] == 1  # the kept epoch, 1-based
    assert lines[2].get_label() == "kept weights"
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())
    # No epoch beat the start (EarlyStopping's start_value): the mark is at epoch 0, and says so.
    kept = plot_history(history, best_epoch=-1).axes[0].get_lines()[2]
    assert kept.get_xdata()[0] == 0 and kept.get_label() == "kept: the start (no epoch beat it)"
    kept = plot_history(history, -1, start_label="kept: the baseline").axes[0].get_lines()[2]
    assert kept.get_label() == "kept: the baseline"


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
    fig = plot_unit_fractions(history, epochs=[0, 2])
    lines = fig.axes[0].get_lines()
    labels = [line.get_label() for line in lines]
    assert labels == ["d1 (dead units)", "d2 (saturated outputs)"]
    np.testing.assert_allclose(lines[0].get_ydata(), [0.5, 0.75])
    np.testing.assert_allclose(lines[0].get_xdata(), [1, 3])  # measured epochs, from 1


# -- figures that display once in Jupyter ------------------------------------------------------


def _check_notebook_figure(figure):
    """A figure of ours: PNG through `_repr_png_`, and no pyplot registration."""
    import matplotlib.pyplot as plt

    from keras_nnperf.report import NotebookFigure

    assert isinstance(figure, NotebookFigure)
    png = figure._repr_png_()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert plt.get_fignums() == []


def test_new_figure_has_a_png_repr_and_is_not_registered_with_pyplot():
    import matplotlib.pyplot as plt

    plt.close("all")
    figure = new_figure(3, 2)
    figure.subplots().plot([0, 1], [1, 0])
    _check_notebook_figure(figure)
    # Pickle finds the class by name, although it is made on first use.
    clone = pickle.loads(pickle.dumps(figure))
    assert type(clone) is type(figure)
    assert clone._repr_png_().startswith(PNG_SIGNATURE)


def test_ipython_formats_our_figures_as_one_png():
    formatters = pytest.importorskip("IPython.core.formatters")
    figure = new_figure(3, 2)
    figure.subplots().plot([0, 1])
    data, _ = formatters.DisplayFormatter().format(figure)
    assert data["image/png"].startswith(PNG_SIGNATURE)
    # A plain Figure has no PNG repr: outside the inline backend it shows as text.
    from matplotlib.figure import Figure

    assert "image/png" not in formatters.DisplayFormatter().format(Figure())[0]


@pytest.mark.slow
@pytest.mark.tensorflow_only("runs a Jupyter kernel of the TensorFlow dev venv")
def test_a_jupyter_kernel_shows_each_figure_once_as_an_image(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.setenv("PYTHONPATH", repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    cells = [
        # pyplot never imported by the user (Keras may import it: either way must work)
        "from keras_nnperf.report import new_figure\n"
        "f = new_figure(3, 2)\nf.subplots().plot([0, 1])\nf",
        # pyplot imported, inline backend on: still once, not twice
        "import matplotlib.pyplot as plt\n%matplotlib inline\n"
        "g = new_figure(3, 2)\ng.subplots().plot([1, 0])\ng",
        "plt.get_fignums()",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    for cell in notebook.cells[:2]:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, cell.outputs
        assert not [o for o in cell.outputs if o.get("output_type") == "error"]
    assert notebook.cells[2].outputs[0]["data"]["text/plain"] == "[]"


def test_every_plot_of_the_package_makes_a_notebook_figure(tmp_path):
    """Each public `plot()` returns a figure that Jupyter shows once (see `new_figure`)."""
    import matplotlib.pyplot as plt

    from keras_nnperf.callbacks.activation_monitor import ActivationMonitor
    from keras_nnperf.callbacks.gradient_monitor import GradientMonitor
    from keras_nnperf.callbacks.lr_finder_result import LRFinderResult
    from keras_nnperf.diagnostics.signal_propagation import signal_propagation
    from keras_nnperf.tuning.result import SearchResult

    plt.close("all")
    x, y = _blobs()
    model = _mlp()
    gradients, activations = GradientMonitor(), ActivationMonitor(x[:32])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[gradients, activations])
    lrs = np.logspace(-6, 0, 60)
    losses = 1.0 - 0.5 / (1 + np.exp(-(np.log10(lrs) + 3) * 3))
    results = [
        {"trial_id": str(i), "status": "COMPLETED", "score": s, "hyperparameters": {"units": u}}
        for i, (s, u) in enumerate([(0.5, 8), (0.7, 16), (0.6, 32)])
    ]
    search = SearchResult(None, None, results, "val_accuracy", "max", best_trial_id="1")
    for figure in (
        gradients.plot(),
        activations.plot(),
        LRFinderResult(lrs=lrs, losses=losses, raw_losses=losses).plot(),
        signal_propagation(_mlp(), x[:64], y[:64]).plot(),
        search.plot(),
        plot_history({"loss": [1, 0.5], "val_loss": [1, 0.7]}),
        plot_schedule(np.linspace(0, 1, 10)),
        plot_unit_fractions({"dead_fraction/a": [0.1, 0.2]}),
    ):
        _check_notebook_figure(figure)


# -- the heatmaps ------------------------------------------------------------------------------


def _blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")[:, None]
    return x, y


def _mlp(activation="relu"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation=activation, name="first_hidden_layer"),
            keras.layers.Dense(8, activation=activation, name="second"),
            keras.layers.Dense(1, activation="sigmoid", name="out"),
        ]
    )
    model.compile("adam", "binary_crossentropy")
    return model


def test_gradient_heatmap_is_readable():
    from keras_nnperf.callbacks.gradient_monitor import GradientMonitor

    x, y = _blobs()
    monitor = GradientMonitor()
    _mlp().fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[monitor])
    figure = monitor.plot()
    ax, bar = figure.axes
    width, height = figure.get_size_inches()
    assert width >= 7 and height >= 1.6 + 0.45 * 3  # enough room per layer
    assert [t.get_text() for t in ax.get_yticklabels()] == ["first_hidden_layer", "second", "out"]
    assert bar.get_ylabel() == "log10 gradient norm"
    assert ax.get_xlabel() == "epoch"
    # Epochs 1..3 at integer ticks, cell centres on them.
    assert ax.images[0].get_extent()[:2] == [0.5, 3.5]
    ticks = [t for t in ax.get_xticks() if 0.5 <= t <= 3.5]
    assert ticks and all(float(t).is_integer() for t in ticks)
    expected = np.log10(monitor.history["grad_norm/second"][2])
    np.testing.assert_allclose(ax.images[0].get_array()[1, 2], expected, rtol=1e-6)


def test_activation_heatmap_is_readable():
    from keras_nnperf.callbacks.activation_monitor import ActivationMonitor

    x, y = _blobs()
    monitor = ActivationMonitor(x[:64], every_n_epochs=2)
    _mlp("mish").fit(x, y, epochs=5, batch_size=32, verbose=0, callbacks=[monitor])
    assert monitor.epochs == [0, 2, 4]
    figure = monitor.plot()
    panels = [ax for ax in figure.axes if ax.images]
    bar = [ax for ax in figure.axes if not ax.images]
    assert [ax.get_title() for ax in panels] == ["first_hidden_layer (mish)", "second (mish)"]
    assert len(bar) == 1 and bar[0].get_ylabel() == "log(1 + count) of probe outputs"
    width, height = figure.get_size_inches()
    assert width >= 6 and height >= 3
    # Epochs 1, 3, 5, each column centred on its epoch; one colour scale for every panel.
    assert panels[0].images[0].get_extent()[:2] == [0.0, 6.0]
    assert panels[0].images[0].norm.vmax == panels[1].images[0].norm.vmax
    expected = np.log1p(np.stack(monitor.histograms["second"]).T)
    np.testing.assert_allclose(panels[1].images[0].get_array(), expected)
    low, high = panels[0].get_ylim()
    assert low < 0 < high and panels[0].get_xlabel() == "epoch"


# -- the report's verdict ----------------------------------------------------------------------


def test_comparison_says_when_the_network_loses_and_what_to_try():
    from keras_nnperf.recipe.report_text import comparison_markdown

    trivial = {"accuracy": 0.68, "log_loss": 0.63}
    linear = {"accuracy": 0.74, "log_loss": 0.52}
    baselines = {"trivial": trivial, "linear": linear}
    text = comparison_markdown({"accuracy": 0.70, "log_loss": 0.6}, baselines, rows=200)
    assert "| **this network** | 0.7 | 0.6 |" in text
    assert "**The network loses to the linear:** its accuracy 0.7 is 0.04 below the 0.74" in text
    assert "`--tune 20`" in text and "`--folds 5`" in text
    assert "One of the 200 validation rows is 0.005 of accuracy." in text
    text = comparison_markdown({"accuracy": 0.60}, baselines)
    assert "**The network loses to the trivial baseline:**" in text
    assert "always predicting the majority class" in text and "`--lr`" in text
    assert "Neither does" not in text
    # carData's Cowles (volunteering from sex and two scores): no model beats the majority.
    text = comparison_markdown(
        {"accuracy": 0.5634},
        {"trivial": {"accuracy": 0.581}, "linear model": {"accuracy": 0.5528}},
        rows=284,
    )
    assert "Neither does the linear model: 0.5528. The columns may say little" in text
    assert "`--lr`" not in text
    text = comparison_markdown({"r2": -0.5}, {"mean": {"r2": 0.0}, "ridge": {"r2": 0.5}})
    assert "loses to the trivial baseline" in text and "predicting the mean" in text
    text = comparison_markdown({"accuracy": 0.735}, baselines)
    assert "about even" in text and "loses" not in text
    text = comparison_markdown({"r2": 0.6}, {"trivial": {"r2": 0.0}, "linear": {"r2": 0.5}})
    assert "at or above every baseline" in text
    # Behind in R2 (beyond or within the margin): never also "at or above every baseline".
    for r2 in (0.45, 0.495):
        text = comparison_markdown({"r2": r2}, {"trivial": {"r2": 0.0}, "linear": {"r2": 0.5}})
        assert ("loses to the linear" in text) == (r2 == 0.45)
        assert ("about even" in text) == (r2 == 0.495)
        assert "at or above every baseline" not in text


def test_comparison_says_when_the_log_loss_beats_what_the_accuracy_ties_or_loses_to():
    from keras_nnperf.recipe.report_text import comparison_markdown

    # Caravan (6% buyers), seed 0: accuracy ties the majority class, probabilities are better.
    trivial = {"accuracy": 0.9399, "auc": 0.5, "log_loss": 0.2272}
    linear = {"accuracy": 0.9373, "auc": 0.7562, "log_loss": 0.2047}
    ours = {"accuracy": 0.9373, "auc": 0.7509, "log_loss": 0.2046}
    text = comparison_markdown(ours, {"trivial": trivial, "linear": linear}, rows=1165)
    assert "about even" in text
    assert "Its log loss, though, is lower: 0.2046, AUC 0.751, against 0.2272 (trivial)." in text
    # Pima seed 0: loses to the linear model in accuracy, wins in log loss.
    text = comparison_markdown(
        {"accuracy": 0.851, "log_loss": 0.301},
        {
            "trivial": {"accuracy": 0.672, "log_loss": 0.63},
            "linear": {"accuracy": 0.896, "log_loss": 0.309},
        },
    )
    assert "loses to the linear" in text and "against 0.309 (linear)" in text
    # Within 1% of the baseline's log loss, or worse: no such sentence.
    for log_loss in (0.307, 0.35):
        text = comparison_markdown(
            {"accuracy": 0.851, "log_loss": log_loss},
            {
                "trivial": {"accuracy": 0.672, "log_loss": 0.63},
                "linear": {"accuracy": 0.896, "log_loss": 0.309},
            },
        )
        assert "loses to the linear" in text and "log loss, though" not in text
    # Behind the majority class beyond the margin: not "nothing usable" when the log loss wins.
    text = comparison_markdown({**ours, "accuracy": 0.92}, {"trivial": trivial, "linear": linear})
    assert "loses to the trivial baseline" in text and "It has learned nothing" not in text
    assert "In accuracy it has learned nothing usable (see its log loss below)." in text
    assert "against 0.2272 (trivial)" in text
    # Ahead in accuracy: nothing to add.
    text = comparison_markdown({"accuracy": 0.95, "log_loss": 0.2}, {"trivial": trivial})
    assert "log loss, though" not in text


def test_schedule_summary_reads_the_applied_rates():
    from keras_nnperf.recipe.report_text import schedule_summary

    rates = np.concatenate([np.linspace(0.0, 1.0, 30), np.linspace(1.0, 0.001, 10), [np.nan] * 5])
    summary = schedule_summary(rates, steps_per_epoch=10)
    assert summary == {"peak": 1.0, "final": 0.001, "fall_epoch": 3, "steps": 40}
    assert schedule_summary([np.nan], 10) == {}


def test_epoch_progress_prints_plain_lines_without_a_terminal(capsys):
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


def test_a_losing_verdict_suggests_categorical_for_columns_that_read_as_codes():
    from keras_nnperf.recipe.report_text import comparison_markdown

    # causalpy's cereal table: brand, firm and city codes in digits; --categorical won there.
    baselines = {"trivial": {"r2": 0.0}, "linear": {"r2": 0.214}}
    codes = ["firmbr", "brand", "city"]
    text = comparison_markdown({"r2": 0.130}, baselines, codes=codes)
    assert "names read as codes: `firmbr`, `brand`, `city`;" in text
    assert "`--categorical firmbr brand city` reads them as categories." in text
    for r2 in (0.21, 0.3):  # about even, or ahead: nothing to fix
        assert "--categorical" not in comparison_markdown({"r2": r2}, baselines, codes=codes)
    assert "--categorical" not in comparison_markdown({"r2": 0.130}, baselines)
