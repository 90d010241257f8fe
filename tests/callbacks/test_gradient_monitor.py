import copy
import os
import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from keras_nnperf.callbacks import gradient_monitor
from keras_nnperf.callbacks.alerts import GradientAlert
from keras_nnperf.callbacks.gradient_monitor import (
    GradientMonitor,
    packed_square_sums,
    per_tensor_square_sums,
    square_sums,
)
from keras_nnperf.optimizers.autoclip import AutoClip
from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
BACKEND = keras.backend.backend()


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


def _backend_gradients(model, x, y):
    """The loss gradient w.r.t. `model.trainable_weights` from the backend's own autodiff."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = LOSS(y, model(x))
        grads = tape.gradient(loss, model.trainable_weights)
        return [np.asarray(tf.convert_to_tensor(g)) for g in grads]  # dense IndexedSlices too
    if BACKEND == "jax":
        import jax

        weights = [w.value for w in model.trainable_weights]
        others = [w.value for w in model.non_trainable_weights]

        def loss_of(trainable):
            outputs, _ = model.stateless_call(trainable, others, x)
            return LOSS(y, outputs)

        return [np.asarray(g) for g in jax.grad(loss_of)(weights)]
    if BACKEND == "torch":
        import torch

        for weight in model.trainable_weights:
            weight.value.grad = None
        loss = LOSS(keras.ops.convert_to_tensor(y), model(keras.ops.convert_to_tensor(x)))
        grads = torch.autograd.grad(loss, [w.value for w in model.trainable_weights])
        return [g.detach().cpu().numpy() for g in grads]
    raise NotImplementedError(BACKEND)


def _tape_layer_norms(model, x, y):
    grads = _backend_gradients(model, x, y)
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


def _skip_unless(backend):
    return pytest.mark.skipif(
        BACKEND != backend, reason=f"checks against {backend}'s own autodiff; this is {BACKEND}"
    )


@pytest.mark.parametrize(
    "reference",
    [
        pytest.param("tensorflow", marks=_skip_unless("tensorflow"), id="tf.GradientTape"),
        pytest.param("jax", marks=_skip_unless("jax"), id="jax.grad"),
        pytest.param("torch", marks=_skip_unless("torch"), id="torch.autograd"),
    ],
)
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "per_tensor"])
def test_norms_equal_the_backends_own_gradient(digits, reference, packed, monkeypatch):
    if not packed:  # the reduction used for models above the packing limit
        monkeypatch.setattr(gradient_monitor, "PACKED_LIMIT", 0)
    x, y = digits
    model = _mlp(2)
    expected = _tape_layer_norms(model, x, y)  # tf.GradientTape / jax.grad / torch.autograd
    weight_norms = {
        layer.name: np.sqrt(sum(np.sum(np.square(w)) for w in layer.get_weights()))
        for layer in model.layers
    }
    monitor = GradientMonitor()
    history, _ = _fit(model, x, y, monitor, keras.optimizers.SGD(0.1), batch_size=256)
    for name, norm in expected.items():
        np.testing.assert_allclose(monitor.history[f"grad_norm/{name}"][0], norm, rtol=1e-4)
        np.testing.assert_allclose(monitor.history[f"grad_norm_max/{name}"][0], norm, rtol=1e-4)
        np.testing.assert_allclose(
            monitor.history[f"weight_norm/{name}"][0], weight_norms[name], rtol=1e-5
        )
        np.testing.assert_allclose(
            monitor.history[f"update_ratio/{name}"][0], 0.1 * norm / weight_norms[name], rtol=1e-4
        )
    assert gradient_hook_names(model.optimizer) == []  # removed at train end
    # Per-layer values stay out of logs (and the progress bar) unless asked for.
    assert not any("/" in key for key in history.history)


def test_log_layers_puts_the_values_into_logs(digits):
    x, y = digits
    monitor = GradientMonitor(log_layers=True)
    history, _ = _fit(_mlp(1), x, y, monitor, epochs=2)
    for key, values in monitor.history.items():
        assert history.history[key] == values


def test_every_n_steps_with_jit_and_steps_per_execution(digits):
    x, y = digits
    model = _mlp(1)
    batches = [slice(32 * i, 32 * i + 32) for i in range(8)]
    per_step = [_tape_layer_norms(model, x[b], y[b]) for b in batches]
    monitor = GradientMonitor(every_n_steps=3)
    # PyTorch runs one step per execution.
    execution = {"steps_per_execution": 2} if BACKEND != "torch" else {}
    # lr = 0 keeps the weights fixed, so each step's gradient is the tape's on that batch.
    _fit(
        model,
        x,
        y,
        monitor,
        keras.optimizers.SGD(0.0),
        batch_size=32,
        jit_compile=BACKEND != "torch",
        **execution,
    )
    for name in ("hidden_0", "out"):
        gathered = [per_step[i][name] for i in (0, 3, 6)]
        np.testing.assert_allclose(
            monitor.history[f"grad_norm/{name}"][0], np.mean(gathered), rtol=1e-4
        )
        np.testing.assert_allclose(
            monitor.history[f"grad_norm_max/{name}"][0], np.max(gathered), rtol=1e-4
        )


@pytest.mark.tensorflow_only("tf.distribute.MirroredStrategy")
def test_mirrored_strategy_reports_the_local_batch_norm(digits):
    import tensorflow as tf

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
    assert len(monitor.history["grad_norm/out"]) == 3
    assert "grad_norm/hidden_0" not in monitor.history


def test_clipped_fraction_is_logged_for_our_clipping_optimizers(digits):
    x, y = digits
    monitor = GradientMonitor()
    history, _ = _fit(
        _mlp(1), x, y, monitor, AutoClip(keras.optimizers.SGD(0.05)), epochs=2, batch_size=32
    )
    fractions = history.history["clipped_fraction"]
    assert len(fractions) == 2 and all(0 <= f <= 1 for f in fractions)
    assert 0 < sum(fractions)


def test_mixed_precision(digits):
    keras.config.set_dtype_policy("mixed_float16")
    x, y = digits
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, "relu"),
            keras.layers.Dense(10, dtype="float32"),
        ]
    )
    monitor = GradientMonitor()
    _fit(model, x, y, monitor)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    values = [v[0] for k, v in monitor.history.items() if k.startswith("grad_norm/")]
    assert len(values) == 2 and all(np.isfinite(values)) and all(v > 0 for v in values)


@pytest.mark.tensorflow_only("TensorBoard summaries are written with tf.summary")
def test_tensorboard(digits, tmp_path):
    x, y = digits
    monitor = GradientMonitor(log_dir=str(tmp_path))
    _fit(_mlp(1), x, y, monitor)
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path))


@pytest.mark.skipif(BACKEND == "tensorflow", reason="the error is for backends without tf.summary")
def test_log_dir_raises_a_clear_error_on_other_backends(tmp_path):
    with pytest.raises(ValueError, match="TensorFlow backend"):
        GradientMonitor(log_dir=str(tmp_path))


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


class _CountingMonitor(GradientMonitor):
    """Counts how often the hook's Python runs: once per trace (TF, JAX), per step (PyTorch)."""

    traces = 0

    def _gather(self, grads, variables):
        type(self).traces += 1
        return super()._gather(grads, variables)


@pytest.mark.skipif(BACKEND == "torch", reason="PyTorch runs the step eagerly: nothing is traced")
def test_a_second_fit_with_a_monitor_does_not_retrace(digits):
    x, y = digits
    model = _mlp(1)
    model.compile(keras.optimizers.SGD(0.01), LOSS)
    _CountingMonitor.traces = 0
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, callbacks=[_CountingMonitor()])
    assert _CountingMonitor.traces == 1
    second = _CountingMonitor()  # a new instance on the same layers
    model.fit(x, y, batch_size=64, epochs=2, verbose=0, callbacks=[second])
    assert _CountingMonitor.traces == 1  # the traced step was reused...
    expected = _tape_layer_norms(model, x[:64], y[:64])
    assert all(v > 0 for v in second.history["grad_norm/out"])  # ...and still gathered
    assert len(second.history["grad_norm/out"]) == 2
    assert np.isfinite(expected["out"])


def test_save_after_fit_loads_cleanly(digits, tmp_path):
    x, y = digits
    model = _mlp(1)
    _fit(model, x, y, GradientMonitor(), keras.optimizers.Adam(1e-3))
    assert not any("gradient_monitor" in v.name for v in model.optimizer.variables)
    path = str(tmp_path / "monitored.keras")
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = keras.models.load_model(path)
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for got, want in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), rtol=1e-6
        )


class _Boom(Exception):
    pass


class _RaiseInStep(keras.layers.Layer):
    def __init__(self, at_call, **kwargs):
        super().__init__(**kwargs)
        self.at_call, self.calls = at_call, 0

    def call(self, x, training=None):
        if training:
            self.calls += 1
            if self.calls == self.at_call:
                raise _Boom("layer")
        return x


class _RaiseInCallback(keras.callbacks.Callback):
    def __init__(self, where):
        super().__init__()
        self.where, self.done = where, False

    def _maybe(self, where):
        if where == self.where and not self.done:
            self.done = True
            raise _Boom(where)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            self._maybe("on_epoch_end")

    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            self._maybe("on_train_batch_end")


@pytest.mark.parametrize("where", ["layer", "data", "on_epoch_end", "on_train_batch_end"])
def test_an_interrupted_fit_leaves_nothing_behind(digits, where):
    """After fit raises anywhere, a plain fit matches a model that never saw the monitor."""
    x, y = digits
    x, y = x[:128], y[:128]

    def build():
        layer = _RaiseInStep(at_call=5) if where == "layer" else keras.layers.Identity()
        model = keras.Sequential(
            [keras.Input((64,)), keras.layers.Dense(16, "relu"), layer, keras.layers.Dense(10)]
        )
        model.compile(keras.optimizers.Adam(1e-2), LOSS, run_eagerly=where == "layer")
        return model

    def interrupted_fit(model, callbacks):
        if where == "data":

            def batches():
                for index in range(6):
                    yield x[index % 4 * 32 : index % 4 * 32 + 32], y[index % 4 * 32 :][:32]
                raise _Boom("data")

            data, kwargs = batches(), {"steps_per_epoch": 4}
        else:
            data, kwargs = x, {"y": y, "batch_size": 32}
            if where.startswith("on_"):
                callbacks = [*callbacks, _RaiseInCallback(where)]
        with pytest.raises(Exception, match=where if where != "layer" else "layer"):
            model.fit(data, epochs=3, verbose=0, shuffle=False, callbacks=callbacks, **kwargs)

    monitored, twin = build(), build()
    twin.set_weights(monitored.get_weights())
    interrupted_fit(monitored, [GradientMonitor()])
    interrupted_fit(twin, [])
    # Same training so far: the monitor never changed a gradient.
    for got, want in zip(monitored.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if where == "layer" or (where == "data" and BACKEND != "torch"):
        # Seen inside the step: cleaned at once.
        assert gradient_hook_names(monitored.optimizer) == []
    for model in (monitored, twin):
        model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    assert gradient_hook_names(monitored.optimizer) == []
    assert len(monitored.optimizer.variables) == len(twin.optimizer.variables)
    for got, want in zip(monitored.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


_DATA_PARALLEL_SCRIPT = r"""
import json

import jax
import keras
import numpy as np

from keras_nnperf.callbacks.gradient_monitor import GradientMonitor

assert len(jax.devices()) == 2, jax.devices()
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 6)).astype("float32")
y = rng.normal(size=(32, 1)).astype("float32")


def train(distribution):
    keras.distribution.set_distribution(distribution)
    keras.utils.set_random_seed(7)
    layers = [keras.Input((6,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(1)]
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.SGD(0.05), "mse")
    first, second = GradientMonitor(), GradientMonitor()
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[first])
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[second])
    return [list(first.history.values()), list(second.history.values())]


single = train(None)
parallel = train(keras.distribution.DataParallel(devices=jax.devices()))
print(json.dumps({"single": single, "parallel": parallel}))
"""


def test_data_parallel_on_two_jax_devices_matches_one_device(run_on_two_jax_devices):
    runs = run_on_two_jax_devices(_DATA_PARALLEL_SCRIPT)
    # The global gradient of two half batches is the one-device gradient: same statistics.
    np.testing.assert_allclose(runs["parallel"][0], runs["single"][0], rtol=1e-5)
    np.testing.assert_allclose(runs["parallel"][1], runs["single"][1], rtol=1e-5)
    assert all(value > 0 for value in runs["single"][0][0])


class _StateReader(keras.callbacks.Callback):
    """Reads the monitor's optimizer-owned variables at each epoch's start and end."""

    def __init__(self):
        super().__init__()
        self.begin, self.end = [], []

    def _read(self):
        from keras_nnperf.optimizers.training_state import state_variables

        owned = state_variables(self.model.optimizer, "gradient_monitor/")
        return {name: keras.ops.convert_to_numpy(v) for name, v in owned.items()}

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append(self._read())

    def on_epoch_end(self, epoch, logs=None):
        self.end.append(self._read())


def test_one_statistics_variable_reset_every_epoch(digits):
    # One variable is one host read per epoch (and one assign per step and per epoch start).
    x, y = digits
    model = _mlp(1)
    model.compile(keras.optimizers.SGD(0.01), LOSS)
    monitor, reader = GradientMonitor(), _StateReader()  # the reader runs after the monitor
    model.fit(x, y, batch_size=64, epochs=3, verbose=0, callbacks=[monitor, reader])
    for begin, end in zip(reader.begin, reader.end, strict=True):
        assert list(begin) == list(end) == ["gradient_monitor/statistics"]
        statistics = begin["gradient_monitor/statistics"]
        assert statistics.shape == (5, 2) and not np.any(statistics)
        np.testing.assert_array_equal(end["gradient_monitor/statistics"][-1], [4.0, 4.0])


@pytest.mark.parametrize("function", [packed_square_sums, per_tensor_square_sums, square_sums])
def test_square_sums_match_numpy(function):
    rng = np.random.default_rng(3)
    layout = [[(3, 5), (5,)], [], [(7,)], [(2, 3, 4), (1,), ()]]  # ragged, empty, scalar
    segments = [[rng.normal(size=s).astype("float32") for s in shapes] for shapes in layout]
    got = keras.ops.convert_to_numpy(
        function([[keras.ops.convert_to_tensor(t) for t in ts] for ts in segments])
    )
    want = [sum(float(np.sum(np.square(t.astype("float64")))) for t in ts) for ts in segments]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_packing_stops_at_the_limit(monkeypatch):
    segments = [[keras.ops.ones((4, 3))], [keras.ops.ones((5,))]]  # a 2 x 12 matrix
    assert packed_square_sums(segments) is not None
    monkeypatch.setattr(gradient_monitor, "PACKED_LIMIT", 23)
    assert packed_square_sums(segments) is None


@_skip_unless("jax")
def test_packed_square_sums_are_one_reduction_however_many_tensors():
    # What the first fit pays for the monitor is the XLA compilation of its reductions: with
    # one reduction per tensor it grew with the model (26 kernels more for a 3-layer MLP).
    import jax

    def reductions(tensor_count):
        segments = [[np.ones((4, 3), "float32"), np.ones((3,), "float32")]] * tensor_count
        jaxpr = jax.make_jaxpr(packed_square_sums)(segments)
        return [e.primitive.name for e in jaxpr.eqns if e.primitive.name.startswith("reduce")]

    assert reductions(2) == reductions(20) == ["reduce_sum"]


def test_embedding_norms_equal_the_backends_own_gradient():
    # TensorFlow hands the embedding's gradient as IndexedSlices; with a last, smaller batch its
    # row count is unknown while tracing and the norms are reduced per tensor. The other
    # backends hand a dense tensor (packed). Unique ids: the norm of the changed rows is then the
    # norm of the dense gradient. lr = 0: each step's gradient is the tape's on that batch.
    rng = np.random.default_rng(0)
    x = rng.permutation(40)[:, None].astype("int32")
    y = rng.integers(0, 10, size=40)
    model = keras.Sequential(
        [
            keras.Input((1,), dtype="int32"),
            keras.layers.Embedding(40, 8, name="embed"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(10, name="out"),
        ]
    )
    per_batch = [_tape_layer_norms(model, x[b], y[b]) for b in (slice(0, 32), slice(32, 40))]
    monitor = GradientMonitor()
    _fit(model, x, y, monitor, keras.optimizers.SGD(0.0), batch_size=32)
    for name in ("embed", "out"):
        norms = [batch[name] for batch in per_batch]
        np.testing.assert_allclose(
            monitor.history[f"grad_norm/{name}"][0], np.mean(norms), rtol=1e-4
        )
        np.testing.assert_allclose(
            monitor.history[f"grad_norm_max/{name}"][0], max(norms), rtol=1e-4
        )


@pytest.mark.tensorflow_only("a shape unknown while tracing exists only in TensorFlow graphs")
def test_a_shape_unknown_while_tracing_is_reduced_per_tensor():
    import tensorflow as tf

    packed = []

    @tf.function(input_signature=[tf.TensorSpec((None, 8), "float32")])
    def square_sums(values):
        packed.append(packed_square_sums([[values]]))
        return per_tensor_square_sums([[values]])

    np.testing.assert_allclose(square_sums(tf.ones((3, 8))), [24.0])
    assert packed == [None]


def test_embedding_tables_are_not_called_vanishing(monkeypatch):
    from keras_nnperf.tabular import TabularEmbedding

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(0, 50, (64, 1)), rng.normal(size=(64, 3))], axis=1)
    x, y = x.astype("float32"), rng.integers(0, 10, 64)
    for lookup in (
        TabularEmbedding([0], [50], [8], name="lookup"),
        keras.layers.Embedding(50, 8, name="lookup"),
    ):
        model = keras.Sequential(
            [
                keras.Input((4,) if isinstance(lookup, TabularEmbedding) else (1,)),
                lookup,
                keras.layers.Flatten(),
                keras.layers.Dense(32, "relu", name="hidden"),
                keras.layers.Dense(10, name="out"),
            ]
        )
        inputs = x if isinstance(lookup, TabularEmbedding) else x[:, :1]
        monitor = GradientMonitor()
        _fit(model, inputs, y, monitor, batch_size=32)
        assert monitor.layer_names == ["lookup", "hidden", "out"]
        assert gradient_monitor.is_lookup(lookup)
        assert not gradient_monitor.is_lookup(model.get_layer("hidden"))
        # A lookup's gradient reaches only the rows a batch used: a norm 1000x below the output
        # layer's says nothing of the signal; a Dense layer's that low is vanishing.
        norms = {"lookup": 1e-3, "hidden": 1e-3, "out": 1.0}
        stats = {f"grad_norm/{n}": v for n, v in norms.items()}
        stats.update({f"grad_norm_max/{n}": v for n, v in norms.items()})
        monkeypatch.setattr(monitor, "epoch_statistics", lambda stats=stats: stats)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            monitor.on_epoch_end(1, {})
        flagged = [str(w.message) for w in caught if issubclass(w.category, GradientAlert)]
        assert len(flagged) == 1 and "layer 'hidden'" in flagged[0], flagged
