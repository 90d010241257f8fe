"""The report's pictures: curves checked against scikit-learn, drawn data against the inputs."""

import os

import keras
import numpy as np
import pytest

from keras_nnperf.recipe import figures
from keras_nnperf.report import Report, is_png


def _scores(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.round(rng.normal(size=n) + 1.2 * y, 1)  # rounded: ties at many thresholds
    return y, score


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_and_precision_recall_match_scikit_learn(seed):
    metrics = pytest.importorskip("sklearn.metrics")
    y, score = _scores(seed=seed)
    fpr, tpr = figures.roc_curve(y, score)
    ref_fpr, ref_tpr, _ = metrics.roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    assert figures._auc(fpr, tpr) == pytest.approx(metrics.roc_auc_score(y, score))
    recall, precision = figures.precision_recall_curve(y, score)
    ref_precision, ref_recall, _ = metrics.precision_recall_curve(y, score)
    np.testing.assert_allclose(recall, ref_recall[::-1])
    np.testing.assert_allclose(precision, ref_precision[::-1])
    assert figures.average_precision(recall, precision) == pytest.approx(
        metrics.average_precision_score(y, score)
    )


def test_curves_of_a_single_class_are_none():
    assert figures.roc_curve(np.ones(5), np.arange(5)) is None
    assert figures.precision_recall_curve(np.zeros(5), np.arange(5)) is None


def test_confusion_matrix_counts_shares_and_names():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 0, 1, 1, 2, 0, 2, 2])
    figure = figures.plot_confusion_matrix(y_true, y_pred, ["cat", "dog", "bird"])
    counts_ax, shares_ax = [ax for ax in figure.axes if ax.images]
    expected = np.array([[2, 1, 0], [0, 2, 0], [1, 0, 3]])
    np.testing.assert_array_equal(counts_ax.images[0].get_array(), expected)
    np.testing.assert_allclose(
        shares_ax.images[0].get_array(), expected / expected.sum(axis=1, keepdims=True)
    )
    for ax in (counts_ax, shares_ax):
        assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "bird"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "bird"]
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert [t.get_text() for t in counts_ax.texts][:3] == ["2", "1", "0"]
    assert [t.get_text() for t in shares_ax.texts][:3] == ["67%", "33%", "0%"]


def test_long_class_names_are_shortened_on_the_axes_and_stay_distinct():
    species = [
        "Adelie Penguin (Pygoscelis adeliae)",
        "Chinstrap penguin (Pygoscelis antarctica)",
        "Gentoo penguin (Pygoscelis papua)",
    ]
    assert figures.tick_labels(species) == [
        "Adelie Penguin (P\u2026",
        "Chinstrap penguin\u2026",
        "Gentoo penguin (P\u2026",
    ]
    # Equal once cut at the end: their start and end; equal so too: numbered.
    assert figures.tick_labels(["measurement group A", "measurement group B", "x"], 10) == [
        "meas\u2026oup A",
        "meas\u2026oup B",
        "x",
    ]
    assert figures.tick_labels(["aaaaaaaaaaaa-x-aaaa", "aaaaaaaaaaaa-y-aaaa"], 10) == [
        "1: aaaaaa\u2026",
        "2: aaaaaa\u2026",
    ]
    figure = figures.plot_confusion_matrix([0, 1, 2], [0, 1, 1], species)
    for ax in [ax for ax in figure.axes if ax.images]:
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == figures.tick_labels(species)
        assert max(map(len, labels)) <= figures.MAX_LABEL_CHARS


def test_confusion_matrix_leaves_a_class_without_validation_rows_blank():
    # river's solar flares: class 8 has one row, in training; its share row read as 0% recall.
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])
    figure = figures.plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    counts_ax, shares_ax = [ax for ax in figure.axes if ax.images]
    shares = np.ma.filled(shares_ax.images[0].get_array(), np.nan)
    np.testing.assert_allclose(shares[:2], [[0.5, 0, 0.5], [0, 1, 0]])
    assert np.isnan(shares[2]).all()
    assert [t.get_text() for t in shares_ax.texts][6:] == ["no validation rows"]
    assert [t.get_text() for t in counts_ax.texts][6:] == ["0", "0", "0"]


def test_confusion_matrix_merges_rare_classes_into_other():
    k = figures.MAX_MATRIX_CLASSES + 5
    rng = np.random.default_rng(0)
    y_true = np.concatenate([np.repeat(np.arange(k), np.arange(k, 0, -1))])
    y_pred = rng.permutation(y_true)
    figure = figures.plot_confusion_matrix(y_true, y_pred, [f"c{i}" for i in range(k)])
    counts = figure.axes[0].images[0].get_array()
    assert counts.shape == (figures.MAX_MATRIX_CLASSES,) * 2
    assert counts.sum() == len(y_true)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels[0] == "c0" and labels[-1] == "other"
    assert counts[-1].sum() == np.isin(y_true, np.arange(figures.MAX_MATRIX_CLASSES - 1, k)).sum()
    # The counts' colour scale is the named classes': on the scale of "other", which sums
    # many classes, they were all pale.
    assert figure.axes[0].images[0].get_clim() == (0, counts[:-1, :-1].max())
    assert "'other': 6 classes, off the scale" in figure.axes[0].get_title()


def test_roc_pr_binary_and_capped_one_vs_rest():
    y, score = _scores()
    p = 1 / (1 + np.exp(-score))
    figure = figures.plot_roc_pr(y, np.stack([1 - p, p], axis=1), ["no", "yes"])
    roc_ax, pr_ax = figure.axes
    labels = [line.get_label() for line in roc_ax.lines]
    fpr, tpr = figures.roc_curve(y, p)
    assert labels == [f"positive class: yes (AUC {figures._auc(fpr, tpr):.3f})", "chance"]
    np.testing.assert_allclose(roc_ax.lines[0].get_xdata(), fpr)
    assert pr_ax.lines[-1].get_label() == "chance"
    np.testing.assert_allclose(pr_ax.lines[-1].get_ydata(), y.mean())

    k = figures.MAX_CURVE_CLASSES + 3
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(k), np.arange(k, 0, -1) + 5)
    probabilities = rng.dirichlet(np.ones(k), size=len(y))
    figure = figures.plot_roc_pr(y, probabilities, [f"c{i}" for i in range(k)])
    curves = [line for line in figure.axes[0].lines if line.get_label() != "chance"]
    assert len(curves) == figures.MAX_CURVE_CLASSES  # the most frequent: c0 ... c7
    assert curves[0].get_label().startswith(f"c0, {k + 5} rows (AUC")
    assert curves[-1].get_label().startswith(f"c7, {k - 7 + 5} rows (AUC")
    one = figures.plot_roc_pr([0, 0, 1, 2, 2], np.eye(3)[[0, 0, 1, 2, 1]], ["a", "b", "c"])
    assert [line.get_label()[:8] for line in one.axes[0].lines[:3]] == ["a, 2 row", "b, 1 row"] + [
        "c, 2 row"
    ]
    assert "one class vs the rest" in figure.axes[0].get_title()


def test_predicted_vs_true_draws_the_values_given():
    rng = np.random.default_rng(0)
    y = rng.normal(100.0, 20.0, 50)
    p = y + rng.normal(0.0, 5.0, 50)
    figure = figures.plot_predicted_vs_true(y, p, "price")
    scatter, residuals = figure.axes
    np.testing.assert_allclose(scatter.collections[0].get_offsets(), np.stack([y, p], 1))
    np.testing.assert_allclose(residuals.collections[0].get_offsets(), np.stack([p, y - p], 1))
    diagonal = scatter.lines[0]
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    r2 = 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)
    assert f"R2 {r2:.3f}" in scatter.get_title()
    assert scatter.get_xlabel() == "true price" and "residual" in residuals.get_ylabel()


def test_predicted_vs_true_of_a_log_target_draws_log_axes_and_ratios():
    y = np.array([0.01, 1.0, 1e4, 4e8])
    p = np.array([0.02, 0.5, 2e4, 2e8])
    figure = figures.plot_predicted_vs_true(y, p, "price", log_scale=True)
    scatter, ratios = figure.axes
    assert scatter.get_xscale() == scatter.get_yscale() == "log" == ratios.get_yscale()
    np.testing.assert_allclose(ratios.collections[0].get_offsets(), np.stack([p, y / p], 1))
    assert "median factor 2" in ratios.get_title()
    r2_log = 1 - np.sum(np.log(y / p) ** 2) / np.sum((np.log(y) - np.log(y).mean()) ** 2)
    assert f"of the logs {r2_log:.3f}" in scatter.get_title()
    # A zero or negative value cannot sit on a log axis: the linear picture instead.
    linear = figures.plot_predicted_vs_true(y, -p, "price", log_scale=True)
    assert linear.axes[0].get_xscale() == "linear"


def test_regression_curves_are_converted_to_the_target_units():
    from keras_nnperf.tabular import TabularPreprocessor

    pre = TabularPreprocessor("price", "regression", [], None, 50.0, 20.0)
    history = {"loss": [1.0, 0.25], "val_loss": [0.81, 0.36], "mae": [0.8, 0.4], "val_mae": [1, 1]}
    converted, labels = figures.history_in_metric_units(history, pre)
    np.testing.assert_allclose(converted["rmse"], [20.0, 10.0])
    np.testing.assert_allclose(converted["val_rmse"], [18.0, 12.0])
    np.testing.assert_allclose(converted["mae"], [16.0, 8.0])
    assert labels["rmse"] == "RMSE (price units)"
    pre = TabularPreprocessor("y", "binary", [], ["a", "b"])
    same, labels = figures.history_in_metric_units(history, pre)
    assert same == history and "cross-entropy" in labels["loss"]


def test_negative_floor_is_computed_for_each_activation():
    assert figures.negative_floor("mish") == pytest.approx(-0.3088, abs=1e-3)
    assert figures.negative_floor("silu") == pytest.approx(-0.2785, abs=1e-3)
    assert figures.negative_floor("gelu") == pytest.approx(-0.1700, abs=1e-3)
    assert figures.negative_floor("elu") == pytest.approx(-1.0, abs=1e-4)
    assert figures.negative_floor("relu") == 0.0
    assert figures.negative_floor("leaky_relu") == -np.inf
    assert figures.negative_floor("no_such_activation") is None


def test_activation_caption_is_true_for_each_activation():
    from keras_nnperf.callbacks.activation_monitor import ActivationMonitor

    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="relu", name="r"),
            keras.layers.Dense(4, activation="mish", name="m"),
            keras.layers.Dense(4, activation="tanh", name="t"),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    monitor = ActivationMonitor(x[:32], alerts=False)
    model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[monitor])
    caption = figures.activation_caption(monitor, model)
    relu, mish, tanh = (part for part in caption.split("`")[1::2])
    assert (relu, mish, tanh) == ("r", "m", "t")
    sentences = {s.split("`")[1]: s for s in caption.split(". ") if s.startswith("`")}
    assert "exactly zero" in sentences["r"] and "dead" in sentences["r"]
    assert "[-0.309, 0)" in sentences["m"] and "not dead units" in sentences["m"]
    assert "saturated" in sentences["t"] and "dead" not in sentences["t"]
    assert "probe batch of 32 training rows" in caption


def _table(task, n=160, seed=0):
    from keras_nnperf.tabular import TabularData, TabularPreprocessor

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    signal = x[:, 0] + 0.5 * x[:, 1]
    if task == "regression":
        y = ((signal - signal.mean()) / signal.std())[:, None].astype("float32")
        pre = TabularPreprocessor("price", task, [], None, 300.0, 40.0)
    elif task == "binary":
        y = (signal > 0).astype("float32")[:, None]
        pre = TabularPreprocessor("label", task, [], ["no", "yes"])
    else:
        y = np.digitize(signal, [-0.5, 0.5]).astype("int32")[:, None]
        pre = TabularPreprocessor("kind", task, [], ["low", "mid", "high"])
    cut = n * 3 // 4
    return TabularData(x[:cut], y[:cut], x[cut:], y[cut:], pre)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_add_figures_draws_the_task_s_pictures(tmp_path, task):
    from keras_nnperf.recipe.model import build_model
    from keras_nnperf.recipe.training import LearningRateChoice, train_with_recipe

    data = _table(task)
    pre = data.preprocessor
    model = build_model(4, task, pre.num_classes, 0, data.y_train)
    run = train_with_recipe(model, data, epochs=3, batch_size=32, learning_rate=3e-3, verbose=0)
    choice = LearningRateChoice(3e-3, "given", "given with --lr")
    report = Report(str(tmp_path), "t")
    figures.add_figures(report, model, data, choice, run, None)
    names = sorted(os.path.basename(p)[:-4] for p in report.figures)
    results = ["predicted_vs_true"] if task == "regression" else ["confusion_matrix", "roc_pr"]
    drawn = ["schedule", "training_curves", "gradient_norms", "activations"]
    assert names == sorted([*results, *drawn])
    assert all(is_png(p) for p in report.figures)
    text = open(report.write()).read()
    assert "## Results on the validation rows" in text and "## Inside the network" in text
    assert "not dead units" in text  # the default network uses Mish
    if task == "regression":
        assert "RMSE from the MSE loss" in text


def test_gradient_caption_reads_the_ratio_the_vanishing_check_reads():
    from keras_nnperf.callbacks.gradient_monitor import GradientMonitor

    rng = np.random.default_rng(0)
    codes, y = rng.integers(0, 50, (64, 1)).astype("float32"), rng.integers(0, 2, 64)
    captions = {}
    for name, first in (
        ("lookup", keras.layers.Embedding(50, 8, name="lookup")),
        ("dense", keras.layers.Dense(8, name="lookup")),
    ):
        model = keras.Sequential(
            [
                keras.Input((1,)),
                first,
                keras.layers.Flatten(),
                keras.layers.Dense(16, name="hidden"),
            ]
            + [keras.layers.Dense(1, "sigmoid", name="out")]
        )
        model.compile("sgd", "binary_crossentropy")
        monitor = GradientMonitor(alerts=False)
        model.fit(codes, y, epochs=1, verbose=0, callbacks=[monitor])
        norm = {n: monitor.history[f"grad_norm/{n}"][-1] for n in monitor.layer_names}
        caption = figures.gradient_caption(monitor)
        # The ratio shown starts at the first layer the check reads: past an embedding table.
        start = "hidden" if name == "lookup" else "lookup"
        assert f"was {norm[start] / norm['out']:.2g}x the last layer's" in caption
        captions[name] = caption
    assert "after the embedding tables" in captions["lookup"]
    assert "after the embedding tables" not in captions["dense"]
