import copy

import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.callbacks.ema import EMA

LR = 0.05


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    return x, y


def _linear():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(LR), "mse")
    return model


def _trajectory(kernel, bias, x, y, steps, batch_size=None):
    """SGD on the mean squared error in NumPy, batches in order: the weights before each step."""
    theta = [kernel.astype("float64"), bias.astype("float64")]
    batch_size = batch_size or len(x)
    seen = []
    for step in range(steps):
        seen.append([w.copy() for w in theta])
        start = step * batch_size % len(x)
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        error = xb @ theta[0] + theta[1] - yb
        grads = [2.0 * xb.T @ error / len(xb), 2.0 * error.mean(axis=0)]
        theta = [w - LR * g for w, g in zip(theta, grads, strict=True)]
    return seen, theta


def _reference_ema(seen, momentum, start=0, dynamic=False):
    """avg <- d avg + (1 - d) theta from step `start` on; before it avg follows theta."""
    average = None
    for step, theta in enumerate(seen):
        if step < start or average is None:
            average = [w.copy() for w in theta]
            if step < start:
                continue
        t = step - start + 1
        d = min(momentum, (1 + t) / (10 + t)) if dynamic else momentum
        average = [d * a + (1 - d) * w for a, w in zip(average, theta, strict=True)]
    return average


def _mse(weights, x, y):
    return float(np.mean((x @ weights[0] + weights[1] - y) ** 2))


@pytest.mark.parametrize("dynamic", [False, True])
def test_average_matches_reference_and_validation_uses_it(dynamic):
    x, y = _data()
    model = _linear()
    start = model.get_weights()
    ema = EMA(momentum=0.8, dynamic_decay=dynamic)
    epochs = 6
    history = model.fit(
        x,
        y,
        batch_size=len(x),
        epochs=epochs,
        shuffle=False,
        validation_data=(x, y),
        callbacks=[ema],
        verbose=0,
    )
    seen, final = _trajectory(*start, x, y, epochs)
    for got, want in zip(
        ema.average_weights, _reference_ema(seen, 0.8, dynamic=dynamic), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # The training weights stay in the model.
    for got, want in zip(model.get_weights(), final, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Each epoch's val_loss is the loss of the average at that point.
    for epoch, val_loss in enumerate(history.history["val_loss"]):
        average = _reference_ema(seen[: epoch + 1], 0.8, dynamic=dynamic)
        assert val_loss == pytest.approx(_mse(average, x, y), rel=1e-4)
        assert history.history["loss"][epoch] == pytest.approx(_mse(seen[epoch], x, y), rel=1e-4)


def test_start_epoch_and_final_average():
    x, y = _data()
    model = _linear()
    start = model.get_weights()
    ema = EMA(momentum=0.5, start_epoch=3, final_weights="average")
    model.fit(x, y, batch_size=len(x), epochs=6, shuffle=False, callbacks=[ema], verbose=0)
    seen, _ = _trajectory(*start, x, y, 6)
    want = _reference_ema(seen, 0.5, start=3)
    for got, expected in zip(model.get_weights(), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_optimizer_is_left_as_it_was(tmp_path):
    x, y = _data()
    model = _linear()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    before = [v.path for v in model.optimizer.variables]
    ema = EMA()
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[ema], verbose=0)
    assert [v.path for v in model.optimizer.variables] == before
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # The same callback in a second fit starts a new average and still works.
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[ema], verbose=0)
    assert len(ema.average_weights) == 2


def test_set_average_weights_and_errors():
    x, y = _data()
    model = _linear()
    ema = EMA(momentum=0.9)
    with pytest.raises(ValueError, match="No average yet"):
        ema.set_average_weights(model)
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[ema], verbose=0)
    ema.set_average_weights(model)
    for got, want in zip(model.get_weights(), ema.average_weights, strict=True):
        np.testing.assert_allclose(got, want)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="Argument model"):
        ema.set_average_weights(other)


def test_config_round_trip_copy_and_registry():
    ema = EMA(
        momentum=np.float32(0.75),
        start_epoch=np.int64(2),
        dynamic_decay=True,
        final_weights="average",
    )
    config = ema.get_config()
    assert config == {
        "momentum": 0.75,
        "start_epoch": 2,
        "dynamic_decay": True,
        "evaluate_with_average": True,
        "final_weights": "average",
    }
    assert EMA(**config).get_config() == config
    assert copy.deepcopy(ema).get_config() == config
    assert registry.lookup("callback", "ema") is EMA
    assert isinstance(registry.get_callback("moving_average", momentum=0.9), EMA)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"momentum": float("nan")}, "momentum"),
        ({"momentum": True}, "momentum"),
        ({"start_epoch": -1}, "start_epoch"),
        ({"start_epoch": 1.5}, "start_epoch"),
        ({"dynamic_decay": 1}, "dynamic_decay"),
        ({"evaluate_with_average": "yes"}, "evaluate_with_average"),
        ({"final_weights": "best"}, "final_weights"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Argument {name} .*Received: {name}="):
        EMA(**kwargs)


@pytest.mark.parametrize(
    "runtime",
    [{"jit_compile": True}, {"steps_per_execution": 2}],
    ids=["xla", "steps_per_execution"],
)
def test_in_graph_under_xla_and_steps_per_execution(runtime):
    x, y = _data()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(LR), "mse", **runtime)
    start = model.get_weights()
    ema = EMA(momentum=0.7)
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, callbacks=[ema], verbose=0)
    seen, final = _trajectory(*start, x, y, 12, batch_size=4)
    for got, want in zip(ema.average_weights, _reference_ema(seen, 0.7), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for got, want in zip(model.get_weights(), final, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
