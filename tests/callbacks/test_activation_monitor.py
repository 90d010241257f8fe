import copy
import warnings

import keras
import numpy as np
import pytest

from keras_nnperf.callbacks.activation_monitor import ActivationMonitor, activation_name
from keras_nnperf.callbacks.alerts import ActivationAlert

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _data(n=64):
    rng = np.random.default_rng(3)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n)


def _fit(model, monitor, epochs=1, lr=0.0):
    x, y = _data()
    model.compile(keras.optimizers.SGD(lr), LOSS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[monitor])
    return history, [w for w in caught if issubclass(w.category, ActivationAlert)]


def _relu_net(bias=0.0):
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(
                12, "relu", bias_initializer=keras.initializers.Constant(bias), name="hidden"
            ),
            keras.layers.Dense(3, name="out"),
        ]
    )


def test_statistics_match_numpy_forward_pass():
    model = _relu_net()
    probe = _data(40)[0]
    monitor = ActivationMonitor(probe, bins=10)
    # lr = 0: the weights at epoch end are the initial ones, so NumPy can redo the forward pass.
    history, _ = _fit(model, monitor)
    kernel, bias = model.get_layer("hidden").get_weights()
    hidden = np.maximum(probe @ kernel + bias, 0.0)
    logs = history.history
    np.testing.assert_allclose(logs["act_mean/hidden"][0], hidden.mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["act_std/hidden"][0], hidden.std(), rtol=1e-5)
    np.testing.assert_allclose(logs["dead_fraction/hidden"][0], np.all(hidden == 0, 0).mean())
    assert "dead_fraction/out" not in logs and "saturated_fraction/hidden" not in logs
    counts = monitor.histograms["hidden"][0]
    assert counts.shape == (10,) and counts.sum() == hidden.size
    np.testing.assert_array_equal(counts, np.histogram(hidden, bins=monitor.bin_edges["hidden"])[0])


def test_dead_units_are_reported_once_with_the_fix():
    monitor = ActivationMonitor(_data(32)[0], dead_threshold=0.5)
    history, alerts = _fit(_relu_net(bias=-50.0), monitor, epochs=2)
    assert history.history["dead_fraction/hidden"] == [1.0, 1.0]
    assert len(alerts) == 1
    message = str(alerts[0].message)
    assert "dead units in layer 'hidden'" in message and "PReLU" in message


def test_healthy_relu_net_has_no_dead_alert():
    _, alerts = _fit(_relu_net(), ActivationMonitor(_data(32)[0]))
    assert alerts == []


def test_output_layer_is_left_out_by_default_but_can_be_asked_for():
    # A confident sigmoid output saturates by design; it must not raise a saturation alert.
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, "relu", name="hidden"),
            keras.layers.Dense(
                1,
                "sigmoid",
                kernel_initializer=keras.initializers.RandomNormal(0.0, 20.0),
                name="out",
            ),
        ]
    )
    x = _data()[0]
    y = (x[:, 0] > 0).astype("float32")
    model.compile(keras.optimizers.SGD(0.0), "binary_crossentropy")
    default = ActivationMonitor(x, saturation_threshold=0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=1, verbose=0, callbacks=[default])
    assert default.layer_names == ["hidden"]
    assert "act_mean/out" not in history.history
    assert not [w for w in caught if issubclass(w.category, ActivationAlert)]
    explicit = ActivationMonitor(x, layers=["out"], saturation_threshold=0.3, alerts=False)
    history = model.fit(x, y, epochs=1, verbose=0, callbacks=[explicit])
    assert history.history["saturated_fraction/out"][0] > 0.3


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturation_matches_the_bounds(activation):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(
                16,
                activation,
                kernel_initializer=keras.initializers.RandomNormal(0.0, 4.0),
                name="hidden",
            ),
            keras.layers.Dense(3),
        ]
    )
    probe = _data(32)[0]
    monitor = ActivationMonitor(probe, saturation_threshold=0.3)
    history, alerts = _fit(model, monitor)
    kernel, bias = model.get_layer("hidden").get_weights()
    pre = probe @ kernel + bias
    if activation == "sigmoid":
        out = 1 / (1 + np.exp(-pre))
        expected = np.mean((out < 0.01) | (out > 0.99))
    else:
        expected = np.mean(np.abs(np.tanh(pre)) > 0.99)
    got = history.history["saturated_fraction/hidden"][0]
    np.testing.assert_allclose(got, expected, atol=1.5 / pre.size)
    assert expected > 0.3 and len(alerts) == 1 and "saturated" in str(alerts[0].message)
    assert monitor.bin_edges["hidden"][0] == (0.0 if activation == "sigmoid" else -1.0)


def test_probe_model_is_built_once_and_every_n_epochs():
    model = _relu_net()
    monitor = ActivationMonitor(_data(16)[0], every_n_epochs=2)
    model.compile(keras.optimizers.SGD(0.01), LOSS)
    x, y = _data()
    monitor.set_model(model)
    monitor.on_train_begin()
    probe_model = monitor._probe_model
    model.fit(x, y, epochs=3, verbose=0, callbacks=[monitor])
    assert monitor.epochs == [0, 2]
    assert len(monitor.histograms["hidden"]) == 2
    assert monitor._probe_model is not probe_model  # fit built its own, once, and reused it
    built = monitor._probe_model
    monitor.on_epoch_end(4)
    assert monitor._probe_model is built


def test_plot_and_deepcopy():
    monitor = ActivationMonitor(_data(16)[0])
    _fit(_relu_net(), monitor, epochs=2)
    figure = monitor.plot()
    # The hidden layer (the output layer is not watched by default), plus the colour bar.
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 1
    assert panels[0].images[0].get_array().shape[1] == 2  # one column per epoch
    clone = copy.deepcopy(monitor)
    assert clone.histograms == {} and clone.x_probe is monitor.x_probe
    with pytest.raises(ValueError, match="Received: layers"):
        monitor.plot(layers=["nope"])


def test_activation_name_detection():
    assert activation_name(keras.layers.Dense(2, "tanh")) == "tanh"
    assert activation_name(keras.layers.ReLU()) == "relu"
    assert activation_name(keras.layers.ReLU(negative_slope=0.1)) == "leaky_relu"
    assert activation_name(keras.layers.Activation("sigmoid")) == "sigmoid"
    assert activation_name(keras.layers.Flatten()) is None


def test_subclassed_model_raises():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="symbolic inputs"):
        _fit(Net(), ActivationMonitor(_data(8)[0]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"x_probe": None},
        {"every_n_epochs": 0},
        {"bins": 1},
        {"dead_threshold": 0.0},
        {"saturation_threshold": 1.5},
        {"layers": "hidden"},
    ],
)
def test_bad_arguments_raise(kwargs):
    arguments = {"x_probe": np.zeros((2, 6), "float32"), **kwargs}
    with pytest.raises(ValueError, match="Received"):
        ActivationMonitor(**arguments)
