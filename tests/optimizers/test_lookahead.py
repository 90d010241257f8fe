import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.optimizers.lookahead import Lookahead, lookahead_update


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    return x, y


def _linear(seed=1):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])


def _reference(kernel, bias, x, y, lr, steps, k, alpha):
    """Algorithm 1 of Zhang et al. 2019 with full-batch SGD on the mean squared error, in NumPy."""
    theta = [kernel.astype("float64"), bias.astype("float64")]
    phi = [w.copy() for w in theta]
    for t in range(1, steps + 1):
        error = x @ theta[0] + theta[1] - y
        grads = [2.0 * x.T @ error / len(x), 2.0 * error.mean(axis=0)]
        theta = [w - lr * g for w, g in zip(theta, grads, strict=True)]
        if t % k == 0:
            phi = [p + alpha * (w - p) for p, w in zip(phi, theta, strict=True)]
            theta = [p.copy() for p in phi]
    return theta, phi


@pytest.mark.parametrize("k, alpha", [(3, 0.5), (1, 0.8), (4, 1.0)])
def test_matches_the_papers_update_rule(k, alpha):
    x, y = _data()
    model = _linear()
    start = [w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in model.get_weights()]
    optimizer = Lookahead(keras.optimizers.SGD(0.05), sync_period=k, slow_step_size=alpha)
    model.compile(optimizer, "mse")
    steps = 10
    model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0)
    theta, phi = _reference(*start, x, y, 0.05, steps, k, alpha)
    for got, want in zip(model.get_weights(), theta, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    for got, want in zip(optimizer.slow_weights, phi, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-4, atol=1e-5)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == steps


def test_slow_step_size_one_is_the_inner_optimizer():
    x, y = _data()
    plain, wrapped = _linear(), _linear()
    plain.compile(keras.optimizers.Adam(0.01), "mse")
    wrapped.compile(Lookahead(keras.optimizers.Adam(0.01), 3, slow_step_size=1.0), "mse")
    for model in (plain, wrapped):
        model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(plain.get_weights(), wrapped.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_update_function():
    got = keras.ops.convert_to_numpy(lookahead_update(np.array([2.0, 4.0]), np.zeros(2), 0.25))
    np.testing.assert_allclose(got, [0.5, 1.0])


def test_learning_rate_reads_through_to_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = Lookahead(keras.optimizers.SGD(schedule), sync_period=2)
    x, y = _data()
    model = _linear()
    model.compile(optimizer, "mse")
    model.fit(x, y, batch_size=len(x), epochs=3, verbose=0)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.1 / 8)
    # And a float set on the wrapper lands on the inner optimizer.
    plain = Lookahead(keras.optimizers.SGD(0.1))
    plain.learning_rate = 0.02
    assert float(keras.ops.convert_to_numpy(plain.inner_optimizer.learning_rate)) == (
        pytest.approx(0.02)
    )


def test_save_load_round_trip_resumes_identically(tmp_path):
    x, y = _data()
    model = _linear()
    model.compile(Lookahead(keras.optimizers.Adam(0.01), sync_period=4), "mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 4 steps: mid-period
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # 6 steps
    path = tmp_path / "lookahead.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    assert isinstance(loaded.optimizer, Lookahead)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    # Training on from there gives the same weights: the slow weights and counters came back.
    for each in (model, loaded):
        each.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_config_round_trip_and_registry():
    optimizer = Lookahead("sgd", sync_period=5, slow_step_size=0.25, name="la")
    config = keras.optimizers.serialize(optimizer)
    again = keras.optimizers.deserialize(config)
    assert isinstance(again, Lookahead)
    assert again.get_config() == optimizer.get_config()
    assert isinstance(again.inner_optimizer, keras.optimizers.SGD)
    assert registry.lookup("optimizer", "lookahead") is Lookahead
    assert isinstance(registry.get("optimizer", "lookahead", sync_period=2), Lookahead)


def test_numpy_scalars_are_valid():
    optimizer = Lookahead("sgd", sync_period=np.int64(3), slow_step_size=np.float32(0.5))
    assert optimizer.get_config()["sync_period"] == 3
    assert type(optimizer.get_config()["slow_step_size"]) is float


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sync_period": 0}, "sync_period"),
        ({"sync_period": 2.5}, "sync_period"),
        ({"sync_period": True}, "sync_period"),
        ({"slow_step_size": 0.0}, "slow_step_size"),
        ({"slow_step_size": 1.5}, "slow_step_size"),
        ({"slow_step_size": float("nan")}, "slow_step_size"),
        ({"slow_step_size": True}, "slow_step_size"),
        ({"optimizer": 3}, "optimizer"),
    ],
)
def test_bad_arguments(kwargs, name):
    kwargs = {"optimizer": "sgd", **kwargs}
    with pytest.raises(ValueError, match=f"Argument {name} .*Received: {name}="):
        Lookahead(**kwargs)


def test_refuses_an_inner_optimizer_that_scales_the_loss():
    with pytest.raises(ValueError, match="loss_scale_factor"):
        Lookahead(keras.optimizers.SGD(loss_scale_factor=128.0))


def test_gradient_hook_callbacks_work_through_the_wrapper():
    from keras_nnperf.callbacks.ema import EMA

    x, y = _data()
    model = _linear()
    model.compile(Lookahead(keras.optimizers.SGD(0.05), sync_period=2), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    before = [v.path for v in model.optimizer.variables]
    ema = EMA(momentum=0.5)
    model.fit(x, y, batch_size=8, epochs=2, validation_data=(x, y), callbacks=[ema], verbose=0)
    assert [v.path for v in model.optimizer.variables] == before
    assert len(ema.average_weights) == 2


def test_learning_rate_slot_callbacks_give_the_inner_rate_back():
    from keras_nnperf.callbacks.one_cycle import OneCycle

    x, y = _data()
    model = _linear()
    model.compile(Lookahead(keras.optimizers.SGD(0.05), sync_period=2), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    before = [v.path for v in model.optimizer.variables]
    callback = OneCycle(max_lr=0.1, cycle_momentum=False)
    model.fit(x, y, batch_size=4, epochs=2, callbacks=[callback], verbose=0)
    assert [v.path for v in model.optimizer.variables] == before
    assert isinstance(model.optimizer.inner_optimizer._learning_rate, keras.Variable)


@pytest.mark.parametrize(
    "runtime",
    [{"jit_compile": True}, {"steps_per_execution": 3}],
    ids=["xla", "steps_per_execution"],
)
def test_in_graph_under_xla_and_steps_per_execution(runtime):
    x, y = _data()
    model = _linear()
    start = model.get_weights()
    optimizer = Lookahead(keras.optimizers.SGD(0.05), sync_period=4, slow_step_size=0.5)
    model.compile(optimizer, "mse", **runtime)
    model.fit(x, y, batch_size=len(x), epochs=9, shuffle=False, verbose=0)
    theta, _ = _reference(*start, x, y, 0.05, 9, 4, 0.5)
    for got, want in zip(model.get_weights(), theta, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
