import copy

import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.diagnostics.noise_scale import (
    GradientNoiseScale,
    measure_noise_scale,
    noise_scale_estimates,
    noise_scale_from,
)
from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names

N, D = 4096, 8


def _regression(seed=0, n=N):
    """Linear regression whose per-example gradients are known in closed form."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype("float32")
    y = (x @ rng.normal(size=D) + rng.normal(size=n)).astype("float32")
    return x, y


def _linear_model(lr=0.0):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(lr), "mse")
    return model


def _analytic(model, x, y):
    """`(|G|^2, tr(Sigma))` over the data set: per-example gradient `2 (x.w - y) x` of MSE."""
    w = np.asarray(model.layers[0].kernel, "float64")[:, 0]
    per_example = 2.0 * (x @ w - y)[:, None] * x
    mean = per_example.mean(0)
    covariance = np.cov(per_example.T, bias=True)  # the population's: batches sample from it
    return float(mean @ mean), float(np.trace(covariance))


def test_estimators_are_exact_on_the_expected_norms():
    # E|G_B|^2 = |G|^2 + tr(Sigma) / B for independent draws: the estimators invert it.
    g2, trace = 3.0, 120.0
    small, big = 16, 128
    got = noise_scale_estimates(g2 + trace / small, g2 + trace / big, small, big)
    np.testing.assert_allclose(got, (g2, trace))
    assert noise_scale_from(g2, trace) == pytest.approx(40.0)
    assert np.isnan(noise_scale_from(-1.0, trace)) and np.isnan(noise_scale_from(0.0, trace))


def test_measured_noise_scale_matches_the_analytic_value():
    x, y = _regression()
    model = _linear_model()
    g2, trace = _analytic(model, x, y)
    result = measure_noise_scale(model, x, y, small=16, big=128, steps=64, seed=1)
    assert result.noise_scale == pytest.approx(trace / g2, rel=0.1)
    assert result.gradient_sq == pytest.approx(g2, rel=0.1)
    assert result.trace_sigma == pytest.approx(trace, rel=0.1)
    assert result.gradient_sq_samples.shape == (64,)
    assert result.critical_batch_size == result.noise_scale
    assert result.steps_factor(result.noise_scale) == pytest.approx(2.0)
    assert result.examples_factor(result.noise_scale) == pytest.approx(2.0)


def test_measured_noise_scale_follows_the_noise():
    # Closer to the optimum |G| shrinks while the noise stays: the noise scale grows.
    x, y = _regression()
    model = _linear_model()
    far = measure_noise_scale(model, x, y, small=16, steps=8).noise_scale
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    model.layers[0].kernel.assign(w_star[:, None] * 0.9)
    # The estimate is good for noise scales up to about the big batch: measure with a bigger one.
    near = measure_noise_scale(model, x, y, small=64, big=1024, steps=16).noise_scale
    g2, trace = _analytic(model, x, y)
    assert near > 10 * far
    assert near == pytest.approx(trace / g2, rel=0.3)


def test_regularization_counts_in_the_gradient():
    x, y = _regression()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((D,)),
            keras.layers.Dense(1, use_bias=False, kernel_regularizer=keras.regularizers.L2(5.0)),
        ]
    )
    model.compile("sgd", "mse")
    g2, trace = _analytic(model, x, y)
    w = np.asarray(model.layers[0].kernel, "float64")[:, 0]
    per_example = 2.0 * (x @ w - y)[:, None] * x
    mean = per_example.mean(0) + 2 * 5.0 * w  # the penalty's gradient shifts G, not Sigma
    result = measure_noise_scale(model, x, y, small=16, big=128, steps=64, seed=1)
    assert result.gradient_sq == pytest.approx(float(mean @ mean), rel=0.1)
    assert result.trace_sigma == pytest.approx(trace, rel=0.1)


def test_measure_rejects_bad_arguments():
    x, y = _regression()
    model = _linear_model()
    for kwargs in (
        {"small": 0},
        {"small": 16, "big": 16},
        {"small": 16, "big": 40},
        {"steps": 1},
        {"small": True},
        {"seed": 1.5},
    ):
        with pytest.raises(ValueError, match="Received"):
            measure_noise_scale(model, x, y, **kwargs)
    with pytest.raises(ValueError, match="same number of samples"):
        measure_noise_scale(model, x, y[:10])


def test_callback_at_fixed_weights_matches_the_analytic_value():
    # Learning rate 0: the weights stay where the analytic value is computed. Keras draws each
    # epoch's batches without replacement, which shifts the expectations by the finite-population
    # factors: tr(Sigma) * n / (n - 1) and |G|^2 - tr(Sigma) / (n - 1) (windows never straddle
    # an epoch: 256 steps per epoch, windows of 8).
    n = 4 * N
    x, y = _regression(n=n)
    model = _linear_model(lr=0.0)
    g2, trace = _analytic(model, x, y)
    expected = (trace * n / (n - 1)) / (g2 - trace / (n - 1))
    noise = GradientNoiseScale(batch_size=64, window=8, decay=0.98)
    history = model.fit(x, y, batch_size=64, epochs=2, callbacks=[noise], verbose=0)
    estimates = noise.estimates()
    assert estimates["windows"] == 2 * 32
    assert estimates["noise_scale"] == pytest.approx(expected, rel=0.1)
    assert estimates["trace_sigma"] == pytest.approx(trace, rel=0.1)
    assert len(noise.history["noise_scale"]) == 2
    assert history.history["noise_scale"][-1] == noise.history["noise_scale"][-1]
    # Agrees with the standalone measurement at the same weights.
    standalone = measure_noise_scale(model, x, y, small=64, steps=32).noise_scale
    assert estimates["noise_scale"] == pytest.approx(standalone, rel=0.2)


@pytest.mark.not_on_torch(
    "no steps_per_execution > 1 in the PyTorch trainer; its jit_compile (torch.compile) is "
    "skipped for the CI time budget"
)
@pytest.mark.parametrize("compile_kwargs", [{"jit_compile": True}, {"steps_per_execution": 4}])
def test_callback_gives_the_same_estimate_compiled(compile_kwargs):
    x, y = _regression()

    def run(**kwargs):
        model = _linear_model()
        model.compile(keras.optimizers.SGD(0.01), "mse", **kwargs)
        noise = GradientNoiseScale(batch_size=64, window=8)
        model.fit(x, y, batch_size=64, epochs=1, shuffle=False, callbacks=[noise], verbose=0)
        return noise.estimates()

    plain, compiled = run(), run(**compile_kwargs)
    assert compiled["windows"] == plain["windows"] == 8
    for key in ("noise_scale", "gradient_sq", "trace_sigma"):
        assert compiled[key] == pytest.approx(plain[key], rel=1e-3)


def test_callback_leaves_the_optimizer_as_it_was_and_reuses_its_state():
    x, y = _regression()
    model = _linear_model(lr=0.01)
    model.fit(x[:256], y[:256], batch_size=32, epochs=1, verbose=0)
    before = [v.path for v in model.optimizer.variables]
    noise = GradientNoiseScale(batch_size=32, window=4)
    model.fit(x[:1024], y[:1024], batch_size=32, epochs=2, callbacks=[noise], verbose=0)
    assert [v.path for v in model.optimizer.variables] == before
    assert gradient_hook_names(model.optimizer) == []
    values = noise.history["noise_scale"]
    assert len(values) == 2 and all(np.isfinite(values)) and all(v > 0 for v in values)
    # A second fit starts the averages again.
    model.fit(x[:256], y[:256], batch_size=32, epochs=1, callbacks=[noise], verbose=0)
    assert noise.estimates()["windows"] == 2


def test_callback_and_measurement_handle_embeddings():
    # TensorFlow hands an Embedding's gradient over as IndexedSlices.
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 50, size=(512, 4))
    y = (tokens.sum(1) % 2).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,), dtype="int32"),
            keras.layers.Embedding(50, 8),
            keras.layers.Flatten(),
            keras.layers.Dense(1, "sigmoid"),
        ]
    )
    model.compile(keras.optimizers.SGD(0.01), "bce")
    noise = GradientNoiseScale(batch_size=16, window=4)
    model.fit(tokens, y, batch_size=16, epochs=1, callbacks=[noise], verbose=0)
    assert np.isfinite(noise.estimates()["trace_sigma"]) and noise.estimates()["trace_sigma"] > 0
    result = measure_noise_scale(model, tokens, y, small=16, steps=4)
    assert np.isfinite(result.trace_sigma) and result.trace_sigma > 0


def test_callback_registration_config_and_copy():
    assert registry.lookup("callback", "gradient_noise_scale") is GradientNoiseScale
    noise = registry.get_callback("gradient_noise_scale", batch_size=16, window=4, decay=0.5)
    assert noise.get_config() == {"batch_size": 16, "window": 4, "decay": 0.5}
    assert copy.deepcopy(noise).get_config() == noise.get_config()
    for kwargs in (
        {"batch_size": 0},
        {"batch_size": 8, "window": 1},
        {"batch_size": 8, "decay": 1.0},
        {"batch_size": 8, "decay": float("nan")},
    ):
        with pytest.raises(ValueError, match="Received"):
            GradientNoiseScale(**kwargs)


# ---- the doctor reports the batch size against the noise scale ---------------------------------


def _diagnose(model, x, y, batch_size, **kwargs):
    from keras_nnperf.diagnostics.doctor import diagnose

    return diagnose(
        model, x, y, batch_size=batch_size, run_lr_finder=False, run_gradient_check=False, **kwargs
    )


def test_doctor_reports_a_batch_far_above_the_noise_scale():
    x, y = _regression()
    model = _linear_model()
    g2, trace = _analytic(model, x, y)  # about 10 examples
    report = _diagnose(model, x, y, batch_size=256)
    (finding,) = [f for f in report.findings if f.code == "batch_size_above_noise_scale"]
    assert finding.severity == "info"
    assert report.summary["noise_scale"] == pytest.approx(trace / g2, rel=0.25)
    assert finding.evidence["measured_with"] == [256, 2048]
    assert not report.has("batch_size_below_noise_scale")


def test_doctor_reports_a_batch_far_below_the_noise_scale():
    x, y = _regression()
    model = _linear_model()
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    model.layers[0].kernel.assign(w_star[:, None] * 0.9)  # near the optimum: about 350
    report = _diagnose(model, x, y, batch_size=4)
    (finding,) = [f for f in report.findings if f.code == "batch_size_below_noise_scale"]
    assert finding.severity == "info" and "batch_size" in finding.fix
    assert not report.has("batch_size_above_noise_scale")


def test_doctor_is_silent_near_the_noise_scale_and_can_skip_it():
    x, y = _regression()
    model = _linear_model()
    report = _diagnose(model, x, y, batch_size=16)  # noise scale about 10
    assert not {"batch_size_below_noise_scale", "batch_size_above_noise_scale"} & set(report.codes)
    assert report.summary["noise_scale_batch_size"] == 16
    report = _diagnose(model, x, y, batch_size=256, run_noise_scale=False)
    assert "noise_scale" not in report.summary and not report.has("batch_size_above_noise_scale")
    with pytest.raises(ValueError, match="Received: run_noise_scale=1"):
        _diagnose(model, x, y, batch_size=16, run_noise_scale=1)
