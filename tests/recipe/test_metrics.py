"""The recipe's metrics in the target's units, and the baselines they are compared with."""

from types import SimpleNamespace

import numpy as np
import pytest

from keras_nnperf.recipe.metrics import baseline_outputs, in_target_units
from keras_nnperf.tabular import TabularPreprocessor


def test_the_trivial_baseline_of_a_log_target_is_the_mean_in_the_units():
    pre = TabularPreprocessor(
        "y", "regression", [], target_mean=1.0, target_std=2.0, target_log=True
    )
    raw = np.array([1.0, 10.0, 1000.0])
    data = SimpleNamespace(
        preprocessor=pre, y_train=pre.target_to_model(raw), y_val=np.zeros((2, 1))
    )
    # The arithmetic mean (337), not exp of the logarithm's mean (21.5).
    np.testing.assert_allclose(in_target_units(pre, baseline_outputs(data)), [337.0, 337.0])


def test_regression_predictions_are_clipped_and_the_linear_model_is_not():
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    from keras_nnperf.recipe.metrics import linear_metrics, metrics_from_outputs
    from keras_nnperf.tabular import TabularData

    pre = TabularPreprocessor(
        "y", "regression", [], target_mean=5.0, target_std=2.5, target_range=[0.0, 10.0]
    )
    z = pre.target_to_model([-5.0, 3.0, 15.0])
    np.testing.assert_allclose(in_target_units(pre, z), [0.0, 3.0, 10.0])
    np.testing.assert_allclose(in_target_units(pre, z, clip=False), [-5.0, 3.0, 15.0])
    y_val = pre.target_to_model([0.0, 3.0, 10.0])
    assert metrics_from_outputs(pre, y_val, z)["r2"] == 1.0
    # The report's linear model is scikit-learn's as a user gets it: it extrapolates past 10.
    x_train = np.linspace(0.0, 1.0, 20, dtype="float32")[:, None]
    x_val = np.array([[0.5], [3.0]], "float32")
    y_train = pre.target_to_model(10.0 * x_train[:, 0]).astype("float32")
    y_true = pre.target_to_model([5.0, 10.0]).astype("float32")
    data = TabularData(x_train, y_train, x_val, y_true, pre)
    reference = Ridge(alpha=1.0).fit(x_train, y_train[:, 0]).predict(x_val)
    assert pre.target_from_model(reference)[1] > 10.0
    assert linear_metrics(data)["r2"] == pytest.approx(r2_score(y_true[:, 0], reference), rel=1e-6)


def test_the_linear_model_of_a_log_target_is_clipped_as_the_network():
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    from keras_nnperf.recipe.metrics import clips_linear, linear_metrics
    from keras_nnperf.tabular import TabularData

    # Fit on the logarithm, a ridge extrapolates in it and exp makes that explode (redback's
    # BATSE t90: R² -49,383). Clipped to the training range, as the network's predictions.
    pre = TabularPreprocessor(
        "y",
        "regression",
        [],
        target_mean=1.0,
        target_std=2.0,
        target_log=True,
        target_range=[1.0, 1000.0],
    )
    assert clips_linear(pre) and not clips_linear(
        TabularPreprocessor("y", "regression", [], target_mean=1.0, target_std=2.0)
    )
    x_train = np.linspace(0.0, 1.0, 20, dtype="float32")[:, None]
    x_val = np.array([[0.5], [4.0]], "float32")
    y_train = pre.target_to_model(10.0 ** (3.0 * x_train[:, 0])).astype("float32")
    y_true = pre.target_to_model([30.0, 1000.0]).astype("float32")
    data = TabularData(x_train, y_train, x_val, y_true, pre)
    reference = pre.target_from_model(Ridge(alpha=1.0).fit(x_train, y_train[:, 0]).predict(x_val))
    assert reference[1] > 1e8  # exp of a linear extrapolation
    expected = r2_score(pre.target_from_model(y_true[:, 0]), np.clip(reference, 1.0, 1000.0))
    assert linear_metrics(data)["r2"] == pytest.approx(expected, rel=1e-5)
    assert expected > 0.0 > r2_score(pre.target_from_model(y_true[:, 0]), reference)


def test_a_log_target_is_also_scored_on_its_logarithms():
    from sklearn.metrics import r2_score

    from keras_nnperf.recipe.metrics import metrics_from_outputs, score

    # Half-lives over 50 orders of magnitude: R2 in the units sees the largest value alone.
    truth = np.array([1e-20, 1e-5, 1.0, 1e3, 1e25])
    guess = np.array([1e-18, 1e-6, 10.0, 1e2, 1e20])
    scores = score("regression", truth, guess, log_target=True)
    assert scores["r2"] == pytest.approx(r2_score(truth, guess))
    assert scores["r2_log"] == pytest.approx(r2_score(np.log(truth), np.log(guess)))
    assert scores["r2_log"] > 0.9 > 0.1 > scores["r2"]
    assert "r2_log" not in score("regression", truth, guess)
    pre = TabularPreprocessor(
        "y", "regression", [], target_mean=0.0, target_std=1.0, target_log=True,
        target_range=[1e-20, 1e25],
    )  # fmt: skip
    got = metrics_from_outputs(pre, pre.target_to_model(truth), pre.target_to_model(guess))
    assert got["r2_log"] == pytest.approx(scores["r2_log"])


def test_a_log_target_with_zeros_is_scored_on_log_of_y_plus_its_shift():
    from sklearn.metrics import r2_score

    from keras_nnperf.recipe.metrics import metrics_from_outputs, score

    truth = np.array([0.0, 0.0, 2.0, 50.0, 3e4, 1e6])
    guess = np.array([0.5, 0.0, 3.0, 20.0, 1e4, 9e5])
    scores = score("regression", truth, guess, log_target=True, log_shift=2.0)
    assert scores["r2_log"] == pytest.approx(r2_score(np.log(truth + 2), np.log(guess + 2)))
    pre = TabularPreprocessor(
        "y", "regression", [], target_mean=0.0, target_std=1.0, target_log=True,
        target_range=[0.0, 1e6], target_shift=2.0,
    )  # fmt: skip
    got = metrics_from_outputs(pre, pre.target_to_model(truth), pre.target_to_model(guess))
    assert got["r2_log"] == pytest.approx(scores["r2_log"], rel=1e-5)
    assert got["r2"] == pytest.approx(r2_score(truth, guess), rel=1e-5)
