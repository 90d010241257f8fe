import json

import keras
import numpy as np
import pytest
from keras import ops
from sklearn.datasets import load_breast_cancer, load_digits

from keras_nnperf.diagnostics.doctor import _sample_rows, diagnose
from keras_nnperf.initializers import initialize_at_baseline

_RAW_X, _Y = load_breast_cancer(return_X_y=True)
RAW_X = _RAW_X.astype("float32")
X = ((_RAW_X - _RAW_X.mean(0)) / _RAW_X.std(0)).astype("float32")
Y = _Y.astype("float32")


class BrokenSquare(keras.layers.Layer):
    """`x * w**2` whose custom gradient forgets the factor 2 in d/dw."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        @ops.custom_gradient
        def forward(x, w):
            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return upstream * w * w, ops.sum(upstream * x * w, axis=0)

            return x * w * w, grad

        return forward(x, ops.add(self.w, 0.0))


def _mlp(hidden=(32, 16), activation="relu", init="he_normal", head=None, compile=True, **kw):
    layers = [keras.Input((30,))]
    layers += [keras.layers.Dense(u, activation, kernel_initializer=init) for u in hidden]
    layers += head or [keras.layers.Dense(1, "sigmoid")]
    model = keras.Sequential(layers)
    if compile:
        model.compile(kw.get("optimizer", keras.optimizers.Adam(1e-3)), kw.get("loss", "bce"))
    return model


def _with_nan():
    x = X.copy()
    x[3, 5] = np.nan
    return x


# code -> (model builder, x, y)
PLANTED = {
    "unscaled_inputs": (lambda: _mlp(), RAW_X, Y),
    "non_finite_inputs": (lambda: _mlp(), _with_nan(), Y),
    "constant_init": (lambda: _mlp(init="zeros"), X, Y),
    "saturating_deep_net": (lambda: _mlp((16,) * 6, "sigmoid", "glorot_uniform"), X, Y),
    "vanishing_gradients": (lambda: _mlp((16,) * 6, "sigmoid", "glorot_uniform"), X, Y),
    "relu_glorot_init": (lambda: _mlp((32,) * 10, init="glorot_uniform"), X, Y),
    "dropout_on_output": (
        lambda: _mlp(head=[keras.layers.Dense(1, "sigmoid"), keras.layers.Dropout(0.5)]),
        X,
        Y,
    ),
    "softmax_single_unit": (lambda: _mlp(head=[keras.layers.Dense(1, "softmax")]), X, Y),
    "loss_output_mismatch": (lambda: _mlp(head=[keras.layers.Dense(2, "softmax")]), X, Y),
    "logits_without_from_logits": (lambda: _mlp(head=[keras.layers.Dense(1)]), X, Y),
    "probabilities_as_logits": (
        lambda: _mlp(loss=keras.losses.BinaryCrossentropy(from_logits=True)),
        X,
        Y,
    ),
    "no_regularization": (lambda: _mlp((256, 256)), X[:100], Y[:100]),
    "wrong_gradients": (
        lambda: _mlp(head=[keras.layers.Dense(1), BrokenSquare(), keras.layers.Activation("tanh")]),
        X[:64],
        Y[:64],
    ),
    "not_compiled": (lambda: _mlp(compile=False), X, Y),
}


@pytest.mark.parametrize("code", sorted(PLANTED))
def test_finds_each_planted_mistake(code):
    build, x, y = PLANTED[code]
    # Each check is independent; the float64 gradient check only runs where it is the subject.
    report = diagnose(
        build(), x, y, run_lr_finder=False, run_gradient_check=code == "wrong_gradients"
    )
    assert report.has(code), report


def test_no_regularization_is_information_when_training_stops_early():
    # `nnperf fit --tune` trains the model its search chose on validation, keeping the best
    # epoch; its report warned `no_regularization` with "stop early" as the fix.
    build, x, y = PLANTED["no_regularization"]
    kwargs = {"run_lr_finder": False, "run_gradient_check": False, "run_noise_scale": False}
    warned = diagnose(build(), x, y, **kwargs).findings
    told = diagnose(build(), x, y, stops_early=True, **kwargs).findings
    assert [f.severity for f in warned if f.code == "no_regularization"] == ["warning"]
    assert [f.severity for f in told if f.code == "no_regularization"] == ["info"]
    with pytest.raises(ValueError, match="stops_early"):
        diagnose(build(), x, y, stops_early="yes", **kwargs)


def test_sigmoid_output_with_sparse_categorical_loss():
    model = _mlp(head=[keras.layers.Dense(2, "sigmoid")], loss="sparse_categorical_crossentropy")
    report = diagnose(model, X, Y, run_lr_finder=False, run_gradient_check=False)
    assert report.has("loss_output_mismatch")
    assert report.findings[0].severity == "error"


def test_finds_a_learning_rate_far_from_the_range_test():
    model = _mlp(optimizer=keras.optimizers.Adam(1e-7))
    report = diagnose(model, X, Y, lr_finder_steps=30, run_gradient_check=False)
    assert report.has("lr_far_from_range_test"), report
    assert report.summary["learning_rate"] == pytest.approx(1e-7)


def test_healthy_model_has_no_error_or_warning_and_is_left_untouched():
    # Seeded: the 30-step range test's suggestion (0.03-0.12 unseeded, over a few draws on JAX)
    # lies near the 100x-above-1e-3 line of `lr_far_from_range_test`.
    keras.utils.set_random_seed(0)
    model = _mlp()
    model.fit(X[:32], Y[:32], epochs=1, verbose=0)  # an optimizer with state to restore
    weights = [w.copy() for w in model.get_weights()]
    optimizer_state = [np.array(v) for v in model.optimizer.variables]
    report = diagnose(model, X, Y, lr_finder_steps=30)
    assert report.healthy, report
    assert "suggested_lr" in report.summary
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(model.optimizer.variables, optimizer_state, strict=True):
        np.testing.assert_array_equal(np.array(got), want)
    json.dumps(report.to_dict())


def test_a_model_random_at_inference_gets_no_gradient_error():
    from keras_nnperf.layers import MCDropout

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
            MCDropout(0.1),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    report = diagnose(model, X, Y.astype("float32").reshape(-1, 1), run_lr_finder=False)
    codes = {finding.code for finding in report.findings}
    assert "wrong_gradients" not in codes, report
    if keras.backend.backend() != "jax":  # JAX's compiled pass fixes the mask: a real check
        assert "gradient_check_skipped" in codes


def test_deep_relu_glorot_is_only_info_when_signal_is_fine():
    model = _mlp((32,) * 5, init="glorot_uniform")
    report = diagnose(model, X, Y, run_lr_finder=False, run_gradient_check=False)
    relu_glorot = [f for f in report.findings if f.code == "relu_glorot_init"]
    assert [f.severity for f in relu_glorot] == ["info"]


def test_unscaled_inputs_names_the_columns():
    x = X.copy()
    x[:, 4] = x[:, 4] * 1000.0
    x[:, 7] = x[:, 7] + 50.0
    report = diagnose(_mlp(), x, Y, run_lr_finder=False, run_gradient_check=False)
    (finding,) = [f for f in report.findings if f.code == "unscaled_inputs"]
    assert finding.evidence["columns"] == [4, 7]


def test_rejects_bad_arguments():
    model = _mlp()
    for kwargs in ({"lr_finder_steps": 2}, {"batch_size": 0}, {"sample_size": 0}):
        with pytest.raises(ValueError, match="Received"):
            diagnose(model, X, Y, **kwargs)
    with pytest.raises(ValueError, match="same number of samples"):
        diagnose(model, X, Y[:10])


# ---- no false alarms on healthy models, the real problems still caught -------------------------

_DIGITS_X, _DIGITS_Y = load_digits(return_X_y=True)
DIGITS_X = (_DIGITS_X / 16.0).astype("float32")  # already in [0, 1]: no standardization needed


def _digits_mlp(activation, init, hidden=(32, 32), bias="zeros"):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((64,))]
    for units in hidden:
        layers.append(
            keras.layers.Dense(units, activation, kernel_initializer=init, bias_initializer=bias)
        )
    model = keras.Sequential([*layers, keras.layers.Dense(10, "softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model


HEALTHY = {
    "sigmoid_net_inputs_in_0_1": (lambda: _digits_mlp("sigmoid", "glorot_uniform"), DIGITS_X),
    "tanh_net_inputs_in_0_1": (lambda: _digits_mlp("tanh", "glorot_uniform"), DIGITS_X),
    "relu_he_net_inputs_in_0_1": (lambda: _digits_mlp("relu", "he_normal"), DIGITS_X),
    "plain_dense_softmax": (lambda: _digits_mlp("relu", "he_normal", hidden=()), DIGITS_X),
    "plain_dense_sigmoid": (lambda: _mlp(hidden=()), X),
    "relu_he_net_standardized": (lambda: _mlp(), X),
    "tanh_net_standardized": (lambda: _mlp((32, 16), "tanh", "glorot_uniform"), X),
}


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_healthy_models_get_no_warning_or_error(name):
    build, x = HEALTHY[name]
    y = _DIGITS_Y if x is DIGITS_X else Y
    report = diagnose(build(), x, y, run_lr_finder=False)  # the float64 gradient check runs
    assert report.healthy, report


def test_vanishing_gradients_are_not_mistaken_for_wrong_ones():
    # Notebook 02's broken network: six sigmoid layers, weights with std 0.01, biases -0.5. Its
    # first layers' gradients (~1e-13) are below what float64 finite differences resolve.
    init = keras.initializers.RandomNormal(stddev=0.01, seed=0)
    model = _digits_mlp("sigmoid", init, hidden=(64,) * 6, bias=keras.initializers.Constant(-0.5))
    report = diagnose(model, DIGITS_X, _DIGITS_Y, run_lr_finder=False)
    assert report.has("vanishing_gradients") and report.has("saturating_deep_net")
    assert not report.has("wrong_gradients") and not report.has("unscaled_inputs"), report


def test_a_dead_relu_net_is_caught():
    model = _digits_mlp("relu", "he_normal", bias=keras.initializers.Constant(-10.0))
    report = diagnose(model, DIGITS_X, _DIGITS_Y, run_lr_finder=False, run_gradient_check=False)
    assert {"vanishing_activations", "vanishing_gradients"} <= set(report.codes), report


def test_unscaled_inputs_in_the_thousands_tiny_or_offset_are_caught_unit_ranges_are_not():
    x = DIGITS_X.copy()
    x[:, 10] *= 5000.0  # thousands
    x[:, 20] *= 1e-5  # a range of 1e-5
    x[:, 30] += 40.0  # an offset of 40 with std < 1
    report = diagnose(
        _digits_mlp("relu", "he_normal"),
        x,
        _DIGITS_Y,
        run_lr_finder=False,
        run_gradient_check=False,
    )
    (finding,) = [f for f in report.findings if f.code == "unscaled_inputs"]
    assert finding.evidence["columns"] == [10, 20, 30]
    assert finding.severity == "warning"


def _regression_mlp():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(64, "relu", kernel_initializer="he_normal"),
            keras.layers.Dense(64, "relu", kernel_initializer="he_normal"),
            keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    return model


TARGET = ((X[:, 0] + X[:, 1] ** 2) - (X[:, 0] + X[:, 1] ** 2).mean()) / (
    (X[:, 0] + X[:, 1] ** 2).std()
)


def test_reports_the_initial_loss_against_the_baseline_and_the_fix_brings_it_to_one():
    model = _regression_mlp()
    report = diagnose(model, X, TARGET, run_lr_finder=False, run_gradient_check=False)
    (finding,) = [f for f in report.findings if f.code == "initial_loss_above_baseline"]
    # Independent check: the loss of always predicting the mean is the target's variance, on the
    # doctor's sample of rows (seeded, random).
    rows = _sample_rows(len(X), 256, 0)
    head = TARGET[rows]
    assert finding.evidence["baseline_loss"] == pytest.approx(float(head.var()), rel=1e-4)
    predictions = np.asarray(model.predict(X[rows], verbose=0))[:, 0]
    initial = float(np.mean((predictions - head) ** 2))
    assert finding.evidence["initial_loss"] == pytest.approx(initial, rel=1e-4)
    assert finding.evidence["ratio"] == pytest.approx(initial / head.var(), rel=1e-4)
    assert finding.severity == ("error" if initial / head.var() > 10 else "warning")
    assert "initialize_at_baseline" in finding.fix

    initialize_at_baseline(model, TARGET)
    report = diagnose(model, X, TARGET, run_lr_finder=False, run_gradient_check=False)
    assert not report.has("initial_loss_above_baseline"), report
    predictions = np.asarray(model.predict(X[rows], verbose=0))[:, 0]
    ratio = float(np.mean((predictions - head) ** 2) / head.var())
    assert report.summary["loss_vs_baseline"] == pytest.approx(ratio, rel=1e-4)
    # The prediction is now the bias (TARGET's mean) plus s = 0.01 * W . h, the scaled head on
    # the ReLU features. How far that leaves the ratio from 1 depends on the head's random draw:
    # s correlates with the target by chance (r = -0.33 with PyTorch's draw for seed 0, ratio
    # 1.034; TensorFlow's gives 1.009), so the bound is Cauchy-Schwarz's, not a fixed margin:
    # |sqrt(mse) - sqrt(mse of the bias alone)| <= sqrt(mean(s**2)).
    constant = float(np.mean((TARGET.mean() - head) ** 2))
    spread = float(np.sqrt(np.mean((predictions - TARGET.mean()) ** 2)))
    assert abs(np.sqrt(ratio * head.var()) - np.sqrt(constant)) <= spread * (1 + 1e-5)
    assert spread < 0.06 * np.sqrt(head.var())  # the 0.01 scale made the head's term small

    # Shrinking the kernel further leaves the mean's own term: 1 + (head mean - mean)^2 / var
    # (the bias is TARGET's mean, the baseline the 256 rows' mean), whatever the draw.
    initialize_at_baseline(model, TARGET, kernel_scale=0.01)  # the kernel is now 1e-4 x
    report = diagnose(model, X, TARGET, run_lr_finder=False, run_gradient_check=False)
    offset = (head.mean() - TARGET.mean()) ** 2 / head.var()
    assert report.summary["loss_vs_baseline"] == pytest.approx(1 + offset, abs=1e-3)


def test_baseline_severity_follows_the_ratio():
    from keras_nnperf.diagnostics import doctor

    assert doctor.BASELINE_INFO_RATIO < doctor.BASELINE_WARNING_RATIO < doctor.BASELINE_ERROR_RATIO
    model = _mlp(head=[keras.layers.Dense(1, "sigmoid")])
    model.layers[-1].bias.assign([8.0])  # predicts "positive" for all: BCE far above entropy
    report = diagnose(model, X, Y, run_lr_finder=False, run_gradient_check=False)
    (finding,) = [f for f in report.findings if f.code == "initial_loss_above_baseline"]
    ratio = finding.evidence["ratio"]
    assert ratio > doctor.BASELINE_WARNING_RATIO
    assert finding.severity == ("error" if ratio > doctor.BASELINE_ERROR_RATIO else "warning")


def test_a_head_without_a_baseline_is_skipped_with_an_info():
    model = _mlp(head=[keras.layers.Dense(1, "tanh")], loss="mse")
    report = diagnose(model, X, Y, run_lr_finder=False, run_gradient_check=False)
    assert [f.severity for f in report.findings if f.code == "baseline_check_skipped"] == ["info"]


def test_targets_of_one_value_skip_the_ratio_instead_of_an_infinite_error():
    # pynucastro's half-lives (1e-22 to 1e28 s), standardized: the sampled rows were all one
    # float32 value, the constant's loss 0, and any model's loss "infx" it: an ERROR.
    model = _mlp(head=[keras.layers.Dense(1)], loss="mse")
    report = diagnose(model, X, np.full(len(X), -0.01), run_lr_finder=False,
                      run_gradient_check=False)  # fmt: skip
    codes = {f.code: f.severity for f in report.findings}
    assert "initial_loss_above_baseline" not in codes
    assert codes["baseline_check_skipped"] == "info"
    assert report.summary["baseline_loss"] == 0 and "loss_vs_baseline" not in report.summary


def test_the_lr_check_uses_lr_finds_own_suggestion(monkeypatch):
    from keras_nnperf.diagnostics import doctor

    class Result:
        suggestion, reason = 0.05, "stub"

    calls = []

    def fake_lr_find(model, x, y, **kwargs):
        calls.append(kwargs)
        return Result()

    monkeypatch.setattr(doctor, "lr_find", fake_lr_find)
    for lr, flagged in ((1e-3, False), (0.6, True), (1e-4, True), (6e-4, False)):
        model = _mlp(optimizer=keras.optimizers.Adam(lr))
        report = diagnose(model, X, Y, lr_finder_steps=10, run_gradient_check=False)
        assert report.has("lr_far_from_range_test") == flagged, (lr, report)
        assert report.summary["suggested_lr"] == 0.05
    assert all("suggestion" not in kwargs for kwargs in calls)  # the default rule, always


def test_a_float32_gradient_failure_counts_only_when_other_samples_fail_too(monkeypatch):
    # In float32 a finite-difference step can straddle a ReLU kink on one sample: a wrong
    # derivative fails on any samples, a kink on one. Stub the check to fail as told per call.
    from keras_nnperf.diagnostics import doctor
    from keras_nnperf.diagnostics.gradient_check import GradientCheckResult, VariableCheck

    def stub(dtype, failing_per_call):
        calls = []

        def fake_gradient_check(model, x, y, **kwargs):
            failing = failing_per_call[len(calls)]
            calls.append((np.asarray(x).copy(), kwargs["seed"]))
            checks = tuple(
                VariableCheck(name, (2,), 2, 0.5 if name in failing else 0.0, 0.1)
                for name in ("dense/kernel", "dense/bias")
            )
            return GradientCheckResult(checks, 0.03, 1e-3, dtype)

        monkeypatch.setattr(doctor, "gradient_check", fake_gradient_check)
        report = diagnose(_mlp(), X, Y, run_lr_finder=False, run_noise_scale=False)
        return report, calls

    # float32: the kernel fails on both samples, the bias (a kink) on the first only.
    report, calls = stub("float32", [{"dense/kernel", "dense/bias"}, {"dense/kernel"}])
    (finding,) = [f for f in report.findings if f.code == "wrong_gradients"]
    assert finding.evidence["variables"] == {"dense/kernel": 0.5}
    assert len(calls) == 2
    rows = _sample_rows(len(X), 256, 0)
    np.testing.assert_array_equal(calls[0][0], X[rows[:16]])
    np.testing.assert_array_equal(calls[1][0], X[rows[16:32]])  # other samples, other elements
    assert calls[0][1] != calls[1][1]
    report, calls = stub("float32", [{"dense/bias"}, set()])
    assert not report.has("wrong_gradients") and len(calls) == 2
    # float64 (finite differences good to 1e-9): one check decides, no second run.
    report, calls = stub("float64", [{"dense/bias"}])
    assert report.has("wrong_gradients") and len(calls) == 1
    report, calls = stub("float32", [set()])
    assert not report.has("wrong_gradients") and len(calls) == 1


def test_the_sample_is_random_rows_not_the_first_ones():
    # Data stored sorted by the target: the first 256 rows are all positives (357 of 569), so
    # a baseline fitted on them "predicts positive" and the untrained model looks 100x worse.
    order = np.argsort(-Y, kind="stable")
    x_sorted, y_sorted = X[order], Y[order]
    assert y_sorted[:256].min() == 1.0
    model = _mlp()
    report = diagnose(model, x_sorted, y_sorted, run_lr_finder=False, run_gradient_check=False)
    rows = _sample_rows(len(Y), 256, 0)
    assert len(set(rows.tolist())) == 256 and rows.max() >= 256
    rate = y_sorted[rows].mean()
    entropy = -(rate * np.log(rate) + (1 - rate) * np.log(1 - rate))
    assert report.summary["baseline_loss"] == pytest.approx(entropy, rel=1e-3)
    # Within sampling error of the whole table's entropy, and no false alarm.
    whole = Y.mean()
    assert abs(rate - whole) < 0.1
    assert not any(
        f.severity in ("warning", "error")
        for f in report.findings
        if f.code == "initial_loss_above_baseline"
    ), report
    # Seeded: the same seed gives the same sample, another seed another one.
    again = diagnose(model, x_sorted, y_sorted, run_lr_finder=False, run_gradient_check=False)
    assert again.summary["baseline_loss"] == report.summary["baseline_loss"]
    assert not np.array_equal(_sample_rows(len(Y), 256, 1), rows)
    assert np.array_equal(np.sort(_sample_rows(10, 256, 0)), np.arange(10))  # all, if fewer
