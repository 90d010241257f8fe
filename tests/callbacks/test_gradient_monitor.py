import copy
import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits

from keras_nnperf.callbacks.alerts import GradientAlert
from keras_nnperf.callbacks.gradient_monitor import GradientMonitor
from keras_nnperf.optimizers.autoclip import AutoClip
from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return x[:256].astype("float32"), y[:256]


def _mlp(depth, activation="relu", init="he_normal", width=32, inputs=64):
    hidden = [
        keras.layers.Dense(width, activation, kernel_initializer=init, name=f"hidden_{i}")
        for i in range(depth)
    ]
    return keras.Sequential([keras.Input((inputs,)), *hidden, keras.layers.Dense(10, name="out")])


def _fit(model, x, y, monitor, optimizer=None, epochs=1, batch_size=64, **compile_kwargs):
    model.compile(optimizer or keras.optimizers.SGD(0.01), LOSS, **compile_kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            verbose=0,
            shuffle=False,
            callbacks=[monitor],
        )
    return history, [w for w in caught if issubclass(w.category, GradientAlert)]


def _tape_layer_norms(model, x, y):
    with tf.GradientTape() as tape:
        loss = LOSS(y, model(x))
    grads = tape.gradient(loss, model.trainable_weights)
    norms = {}
    for layer in model.layers:
        squares = [
            np.sum(np.square(grads[i]))
            for i, w in enumerate(model.trainable_weights)
            if any(w is lw for lw in layer.trainable_weights)
        ]
        norms[layer.name] = float(np.sqrt(sum(squares)))
    return norms


def test_vanishing_sigmoid_net_alerts_and_relu_he_net_does_not(digits):
    x, y = digits
    monitor = GradientMonitor()
    sigmoid_net = _mlp(20, "sigmoid", keras.initializers.RandomNormal(0.0, 1.0), width=16)
    _, alerts = _fit(sigmoid_net, x, y, monitor, batch_size=128)
    assert alerts and all("vanishing gradients" in str(w.message) for w in alerts)
    assert "hidden_0" in {a.layer for a in monitor.alert_tracker.raised}
    assert "Fix: use a ReLU-family activation" in str(alerts[0].message)

    healthy = GradientMonitor()
    _, alerts = _fit(_mlp(20, width=16), x, y, healthy, batch_size=128)
    assert alerts == []
    norms = [healthy.history[f"grad_norm/hidden_{i}"][0] for i in range(20)]
    assert min(norms) > 0.1 * max(norms)


def test_norms_equal_tape_norms_on_the_same_batch(digits):
    x, y = digits
    model = _mlp(2)
    expected = _tape_layer_norms(model, x, y)
    weight_norms = {
        layer.name: np.sqrt(sum(np.sum(np.square(w)) for w in layer.get_weights()))
        for layer in model.layers
    }
    monitor = GradientMonitor()
    history, _ = _fit(model, x, y, monitor, keras.optimizers.SGD(0.1), batch_size=256)
    for name, norm in expected.items():
        np.testing.assert_allclose(history.history[f"grad_norm/{name}"][0], norm, rtol=1e-4)
        np.testing.assert_allclose(monitor.history[f"grad_norm_max/{name}"][0], norm, rtol=1e-4)
        np.testing.assert_allclose(
            monitor.history[f"weight_norm/{name}"][0], weight_norms[name], rtol=1e-5
        )
        np.testing.assert_allclose(
            monitor.history[f"update_ratio/{name}"][0], 0.1 * norm / weight_norms[name], rtol=1e-4
        )
    assert gradient_hook_names(model.optimizer) == []  # removed at train end


def test_every_n_steps_with_jit_and_steps_per_execution(digits):
    x, y = digits
    model = _mlp(1)
    batches = [slice(32 * i, 32 * i + 32) for i in range(8)]
    per_step = [_tape_layer_norms(model, x[b], y[b]) for b in batches]
    monitor = GradientMonitor(every_n_steps=3)
    # lr = 0 keeps the weights fixed, so each step's gradient is the tape's on that batch.
    _fit(
        model,
        x,
        y,
        monitor,
        keras.optimizers.SGD(0.0),
        batch_size=32,
        jit_compile=True,
        steps_per_execution=2,
    )
    for name in ("hidden_0", "out"):
        gathered = [per_step[i][name] for i in (0, 3, 6)]
        np.testing.assert_allclose(
            monitor.history[f"grad_norm/{name}"][0], np.mean(gathered), rtol=1e-4
        )
        np.testing.assert_allclose(
            monitor.history[f"grad_norm_max/{name}"][0], np.max(gathered), rtol=1e-4
        )


def test_mirrored_strategy_reports_the_local_batch_norm(digits):
    x, y = digits
    x, y = x[:64], y[:64]
    # Collective all-reduce keys restart at 1 in every MirroredStrategy, so a second strategy
    # in one process can collide with the first one's; reducing to one device avoids that.
    strategy = tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with strategy.scope():
        model = _mlp(1)
    expected = _tape_layer_norms(model, x, y)
    monitor = GradientMonitor()
    # Each replica receives one copy of the same 64 samples.
    _fit(
        model,
        np.concatenate([x, x]),
        np.concatenate([y, y]),
        monitor,
        keras.optimizers.SGD(0.0),
        batch_size=128,
    )
    for name, norm in expected.items():
        np.testing.assert_allclose(monitor.history[f"grad_norm/{name}"][0], norm, rtol=1e-4)
        np.testing.assert_allclose(monitor.history[f"grad_norm_max/{name}"][0], norm, rtol=1e-4)


def test_alerts_fire_once_per_kind_and_layer(digits):
    x, y = digits
    model = _mlp(2)
    monitor = GradientMonitor(exploding_ceiling=1e-9, layers=["hidden_1", model.get_layer("out")])
    history, alerts = _fit(model, x, y, monitor, epochs=3)
    assert sorted(a.layer for a in monitor.alert_tracker.raised) == ["hidden_1", "out"]
    assert len(alerts) == 2
    assert all(
        "exploding gradients" in str(w.message) and "clipnorm" in str(w.message) for w in alerts
    )
    assert monitor.layer_names == ["hidden_1", "out"]
    assert len(history.history["grad_norm/out"]) == 3
    assert "grad_norm/hidden_0" not in history.history


def test_clipped_fraction_is_logged_for_our_clipping_optimizers(digits):
    x, y = digits
    monitor = GradientMonitor()
    history, _ = _fit(
        _mlp(1), x, y, monitor, AutoClip(keras.optimizers.SGD(0.05)), epochs=2, batch_size=32
    )
    fractions = history.history["clipped_fraction"]
    assert len(fractions) == 2 and all(0 <= f <= 1 for f in fractions)
    assert 0 < sum(fractions)


def test_mixed_precision_and_tensorboard(digits, tmp_path):
    keras.config.set_dtype_policy("mixed_float16")
    x, y = digits
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, "relu"),
            keras.layers.Dense(10, dtype="float32"),
        ]
    )
    monitor = GradientMonitor(log_dir=str(tmp_path))
    history, _ = _fit(model, x, y, monitor)
    values = [v[0] for k, v in history.history.items() if k.startswith("grad_norm/")]
    assert len(values) == 2 and all(np.isfinite(values)) and all(v > 0 for v in values)
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path))


def test_plot_and_deepcopy(digits):
    x, y = digits
    monitor = GradientMonitor()
    _fit(_mlp(2), x, y, monitor, epochs=2)
    figure = monitor.plot()
    image = figure.axes[0].images[0].get_array()
    assert image.shape == (3, 2)
    np.testing.assert_allclose(
        image[2, 1], np.log10(monitor.history["grad_norm/out"][1]), rtol=1e-5
    )
    clone = copy.deepcopy(monitor)
    assert isinstance(clone, GradientMonitor) and clone.history == {}
    assert clone.every_n_steps == monitor.every_n_steps


def test_unknown_layer_raises_at_fit(digits):
    x, y = digits
    with pytest.raises(ValueError, match="Received: layers"):
        _fit(_mlp(1), x, y, GradientMonitor(layers=["nope"]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"every_n_steps": 0},
        {"every_n_steps": 1.5},
        {"vanishing_floor": 0},
        {"layers": "dense"},
        {"exploding_ratio": -1.0},
    ],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="Received"):
        GradientMonitor(**kwargs)
