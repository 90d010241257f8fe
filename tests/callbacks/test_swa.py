import copy

import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.callbacks.swa import (
    SWA,
    _all_layers,
    batch_norm_layers,
    swa_learning_rate,
    update_batch_norm,
)

LR = 0.05


def _data(n=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = rng.normal(size=(n, 1)).astype("float32")
    return x, y


def _linear(lr=LR):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(lr), "mse")
    return model


def _sgd(weights, x, y, rates, batch_size):
    """Minibatch SGD on the mean squared error in NumPy, batches in order; weights per epoch."""
    theta = [w.astype("float64") for w in weights]
    per_epoch = len(x) // batch_size
    epochs, step = [], 0
    for _epoch in range(len(rates) // per_epoch):
        for b in range(per_epoch):
            xb, yb = (
                x[b * batch_size : (b + 1) * batch_size],
                y[b * batch_size : (b + 1) * batch_size],
            )
            error = xb @ theta[0] + theta[1] - yb
            grads = [2.0 * xb.T @ error / len(xb), 2.0 * error.mean(axis=0)]
            theta = [w - rates[step] * g for w, g in zip(theta, grads, strict=True)]
            step += 1
        epochs.append([w.copy() for w in theta])
    return epochs


@pytest.mark.parametrize("cycle_length", [1, 2])
def test_average_of_cycle_ends_with_the_optimizers_own_rate(cycle_length):
    x, y = _data()
    model = _linear()
    start = model.get_weights()
    swa = SWA(start_epoch=2, cycle_length=cycle_length)
    model.fit(x, y, batch_size=16, epochs=6, shuffle=False, callbacks=[swa], verbose=0)
    per_epoch = _sgd(start, x, y, [LR] * 6, 16)
    taken = [per_epoch[e] for e in range(2, 6) if (e - 2 + 1) % cycle_length == 0]
    assert swa.averaged_models == len(taken)
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, np.mean([w[i] for w in taken], axis=0), rtol=1e-5)


@pytest.mark.parametrize("cycle_max_lr", [None, 0.08])
def test_rate_follows_the_papers_schedule(cycle_max_lr):
    x, y = _data()
    model = _linear(lr=0.1)
    start = model.get_weights()
    swa = SWA(start_epoch=1, swa_lr=0.01, cycle_max_lr=cycle_max_lr, cycle_length=2)
    model.fit(x, y, batch_size=4, epochs=5, shuffle=False, callbacks=[swa], verbose=0)
    steps_per_epoch = 4
    high = 0.01 if cycle_max_lr is None else cycle_max_lr
    rates = [0.1] * steps_per_epoch  # epoch 0: the optimizer's own rate
    first = steps_per_epoch
    for step in range(first, 5 * steps_per_epoch):
        rates.append(swa_learning_rate(step, first, 2 * steps_per_epoch, high, 0.01))
    if cycle_max_lr is not None:
        # One cycle: from just under alpha_1 at its first step down to alpha_2 at its last.
        assert rates[first] == pytest.approx(0.08 - 0.07 / 8)
        assert rates[first + 7] == pytest.approx(0.01)
    per_epoch = _sgd(start, x, y, rates, 4)
    taken = [per_epoch[2], per_epoch[4]]  # the ends of the cycles, epochs 1-2 and 3-4
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, np.mean([w[i] for w in taken], axis=0), rtol=1e-4)
    # The optimizer holds its own rate again.
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.1)


def test_conflicts_with_one_cycle():
    x, y = _data()
    model = _linear()
    with pytest.raises(ValueError, match="OneCycle.*SWA|SWA.*OneCycle"):
        model.fit(
            x,
            y,
            batch_size=4,
            epochs=2,
            callbacks=[OneCycle(max_lr=0.1, cycle_momentum=False), SWA(swa_lr=0.01)],
            verbose=0,
        )


def _bn_model():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((3,))
    hidden = keras.layers.BatchNormalization(momentum=0.9)(inputs)
    inner = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    outputs = keras.layers.Dense(1)(inner(hidden))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(LR), "mse")
    return model


def test_update_batch_norm_gives_the_average_of_batch_statistics():
    x, _ = _data(24)
    x = x * 3.0 + 1.0
    model = _bn_model()
    first, nested = batch_norm_layers(model)
    assert update_batch_norm(model, x, batch_size=8) == 3
    batches = [x[i : i + 8] for i in range(0, 24, 8)]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first.moving_mean),
        np.mean([b.mean(axis=0) for b in batches], axis=0),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first.moving_variance),
        np.mean([b.var(axis=0) for b in batches], axis=0),
        rtol=1e-4,
    )
    assert first.momentum == 0.9 and nested.momentum == 0.99  # put back
    # The nested layer normalizes the first layer's output in training mode: mean about 0.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(nested.moving_mean), 0.0, atol=1e-5)
    assert update_batch_norm(model, (x, x), batch_size=24, steps=1) == 1
    with pytest.raises(ValueError, match="Argument data"):
        update_batch_norm(model, x[:0])


def test_swa_recomputes_batch_norm_at_the_end_and_warns_without_data():
    x, y = _data(24)
    model = _bn_model()
    swa = SWA(start_epoch=1, batch_norm_data=x, batch_norm_batch_size=24)
    model.fit(x, y, batch_size=8, epochs=3, callbacks=[swa], verbose=0)
    first = batch_norm_layers(model)[0]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first.moving_mean), x.mean(axis=0), rtol=1e-5, atol=1e-6
    )
    with pytest.warns(RuntimeWarning, match="batch_norm_data"):
        model.fit(x, y, batch_size=8, epochs=2, callbacks=[SWA(start_epoch=1)], verbose=0)


def test_flatten_layers_is_still_there():
    # `_all_layers` reads Keras's private `_flatten_layers`: this fails if Keras moves it.
    model = _bn_model()
    names = [type(layer).__name__ for layer in _all_layers(model)]
    assert names.count("BatchNormalization") == 2


def test_save_load_after_swa(tmp_path):
    x, y = _data()
    model = _linear()
    model.fit(x, y, epochs=3, callbacks=[SWA(start_epoch=1, swa_lr=0.01)], verbose=0)
    path = tmp_path / "swa.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)


def test_config_round_trip_copy_and_registry():
    data = np.zeros((4, 3), "float32")
    swa = SWA(
        start_epoch=np.int64(3),
        swa_lr=np.float32(0.5),
        cycle_max_lr=1.0,
        cycle_length=2,
        batch_norm_data=data,
    )
    config = swa.get_config()
    assert config == {
        "start_epoch": 3,
        "swa_lr": 0.5,
        "cycle_max_lr": 1.0,
        "cycle_length": 2,
        "batch_norm_batch_size": 32,
        "verbose": 0,
    }
    assert SWA(**config).get_config() == config
    copied = copy.deepcopy(swa)
    assert copied.get_config() == config and copied.batch_norm_data is data
    assert registry.lookup("callback", "swa") is SWA
    assert isinstance(registry.get_callback("stochastic_weight_averaging"), SWA)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"start_epoch": -1}, "start_epoch"),
        ({"start_epoch": True}, "start_epoch"),
        ({"swa_lr": 0.0}, "swa_lr"),
        ({"swa_lr": float("inf")}, "swa_lr"),
        ({"cycle_max_lr": 0.1}, "cycle_max_lr"),
        ({"swa_lr": 0.1, "cycle_max_lr": 0.05}, "cycle_max_lr"),
        ({"cycle_length": 0}, "cycle_length"),
        ({"batch_norm_batch_size": 0}, "batch_norm_batch_size"),
        ({"verbose": 2}, "verbose"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Argument {name} .*Received: {name}="):
        SWA(**kwargs)


def test_update_batch_norm_bad_arguments():
    model = _bn_model()
    with pytest.raises(ValueError, match="Argument batch_size"):
        update_batch_norm(model, np.zeros((2, 3)), batch_size=0)
    with pytest.raises(ValueError, match="Argument steps"):
        update_batch_norm(model, np.zeros((2, 3)), steps=0)
