import keras
import numpy as np
import pytest

from keras_nnperf.callbacks._recording import AppliedHyperparameters
from keras_nnperf.callbacks.lr_finder import lr_find
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.schedules import OneCycle as OneCycleSchedule
from keras_nnperf.schedules import OneCycleMomentum, evaluate


def model_and_data(optimizer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [2.0]], "float32")).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer, loss="mse")
    return model, x, y


OPTIMIZERS = {
    "sgd": (lambda: keras.optimizers.SGD(0.01, momentum=0.9), "momentum"),
    "nesterov": (lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "momentum"),
    "adam": (lambda: keras.optimizers.Adam(), "beta_1"),
    "adamw": (lambda: keras.optimizers.AdamW(), "beta_1"),
    "nadam": (lambda: keras.optimizers.Nadam(), "beta_1"),
    "adamax": (lambda: keras.optimizers.Adamax(), "beta_1"),
    "lamb": (lambda: keras.optimizers.Lamb(), "beta_1"),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_applied_learning_rate_and_momentum_follow_the_cycle(name):
    make, attribute = OPTIMIZERS[name]
    model, x, y = model_and_data(make())
    original = getattr(model.optimizer, attribute)
    recorder = AppliedHyperparameters(10)
    callback = OneCycle(max_lr=0.05, pct_start=0.3, anneal="linear")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback, recorder])
    steps = np.arange(10)
    lrs = evaluate(OneCycleSchedule(0.05, 10, pct_start=0.3, anneal="linear"), steps)
    momenta = evaluate(OneCycleMomentum(10, pct_start=0.3, anneal="linear"), steps)
    np.testing.assert_allclose(recorder.learning_rates, lrs, rtol=1e-5)
    np.testing.assert_allclose(recorder.momenta, momenta, rtol=1e-5)
    assert history.history[attribute][-1] == pytest.approx(0.95)
    # The float is back after training, so the optimizer saves as usual.
    assert getattr(model.optimizer, attribute) == original


def test_sgd_update_uses_the_cycled_momentum():
    # One weight, loss = w: the gradient is 1 at every step, so v_k = m_k v_{k-1} - lr_k.
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(
        keras.optimizers.SGD(0.01, momentum=0.5), loss=lambda y_true, y_pred: ops_mean(y_pred)
    )
    x = np.ones((8, 1), "float32")
    model.fit(
        x, x, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[OneCycle(max_lr=0.1)]
    )
    lrs = evaluate(OneCycleSchedule(0.1, 8), np.arange(8))
    momenta = evaluate(OneCycleMomentum(8), np.arange(8))
    weight, velocity = 0.0, 0.0
    for lr, m in zip(lrs, momenta, strict=True):
        velocity = m * velocity - lr * 1.0
        weight += velocity
    np.testing.assert_allclose(model.get_weights()[0].ravel(), [weight], rtol=1e-5)


def ops_mean(y_pred):
    return keras.ops.mean(y_pred)


def test_max_lr_from_lr_find():
    model, x, y = model_and_data(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="max_lr"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[OneCycle()])
    result = lr_find(model, x, y, batch_size=8, num_steps=10)
    callback = OneCycle()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert callback.schedule.max_learning_rate == pytest.approx(result.suggestion)


def test_optimizers_without_momentum_raise():
    model, x, y = model_and_data(keras.optimizers.RMSprop())
    with pytest.raises(ValueError, match="cycle_momentum"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[OneCycle(max_lr=0.1)])
    # An SGD built with momentum=0 has no momentum slots to cycle.
    model, x, y = model_and_data(keras.optimizers.SGD())
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="cycle_momentum"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[OneCycle(max_lr=0.1)])
    no_momentum = OneCycle(max_lr=0.1, cycle_momentum=False)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[no_momentum])


def test_saved_model_loads_after_training(tmp_path):
    model, x, y = model_and_data(keras.optimizers.Adam())
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[OneCycle(max_lr=0.1)])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.optimizer._learning_rate).__name__ == "OneCycle"


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_checkpoint_saved_during_the_cycle_loads(name, tmp_path):
    # ModelCheckpoint serializes the optimizer while the cycled momentum is installed.
    factory, attribute = OPTIMIZERS[name]
    model, x, y = model_and_data(factory())
    path = tmp_path / "checkpoint.keras"
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(float(logs[attribute]))
    )
    checkpoint = keras.callbacks.ModelCheckpoint(path)
    cycle = OneCycle(max_lr=0.05, steps=20)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cycle, record, checkpoint])
    loaded = keras.models.load_model(path)
    saved = loaded.optimizer.get_config()[attribute]
    assert isinstance(saved, float)
    assert saved == pytest.approx(seen[-1], abs=1e-6)
    assert type(loaded.optimizer._learning_rate).__name__ == "OneCycle"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_lr": 0}, "max_lr"),
        ({"steps": 2}, "steps"),
        ({"pct_start": 1.0}, "pct_start"),
        ({"div_factor": 0}, "div_factor"),
        ({"final_div_factor": -1}, "final_div_factor"),
        ({"anneal": "cosine"}, "anneal"),
        ({"cycle_momentum": 1}, "cycle_momentum"),
        ({"momentum": (0.95,)}, "momentum"),
        ({"momentum": (1.2, 0.85)}, "momentum"),
        ({"verbose": 3}, "verbose"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        OneCycle(**kwargs)
