import keras
import numpy as np
import pytest

from keras_nnperf.optimizers.autoclip import AutoClip, global_norm, history_percentile

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _backend_gradients(model, x, y):
    """The loss gradient w.r.t. `model.trainable_weights` from the backend's own autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = LOSS(y, model(x))
        return [np.asarray(g) for g in tape.gradient(loss, model.trainable_weights)]
    if backend == "jax":
        import jax

        others = [w.value for w in model.non_trainable_weights]

        def loss_of(trainable):
            return LOSS(y, model.stateless_call(trainable, others, x)[0])

        return [
            np.asarray(g) for g in jax.grad(loss_of)([w.value for w in model.trainable_weights])
        ]
    import torch

    loss = LOSS(keras.ops.convert_to_tensor(y), model(keras.ops.convert_to_tensor(x)))
    grads = torch.autograd.grad(loss, [w.value for w in model.trainable_weights])
    return [g.detach().cpu().numpy() for g in grads]


def _data(n=32):
    rng = np.random.default_rng(2)
    return rng.normal(size=(n, 5)).astype("float32"), rng.integers(0, 3, n)


def _model():
    return keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(6, "relu"), keras.layers.Dense(3)]
    )


@pytest.mark.parametrize("count", [1, 2, 5, 7, 12])
@pytest.mark.parametrize("percentile", [10.0, 50.0, 100.0])
def test_history_percentile_matches_numpy(count, percentile):
    buffer = np.random.default_rng(count).uniform(0, 5, size=7).astype("float32")
    valid = buffer[: min(count, 7)]
    got = float(history_percentile(buffer, count, percentile))
    np.testing.assert_allclose(got, np.percentile(valid, percentile), rtol=1e-5)


def test_clip_follows_the_running_percentile():
    weights = [keras.Variable(np.zeros((2,), "float32"))]
    optimizer = AutoClip(keras.optimizers.SGD(0.1), percentile=25, history_size=4)
    optimizer.build(weights)
    history = []
    for norm in [3.0, 1.0, 4.0, 0.5, 2.0, 8.0]:
        grad = np.array([norm * 0.6, norm * 0.8], "float32")
        (clipped,), was_clipped = optimizer.clip([grad], weights)
        history = (history + [norm])[-4:]
        threshold = np.percentile(history, 25)
        expected = grad * min(1.0, threshold / norm)
        np.testing.assert_allclose(clipped, expected, rtol=1e-5)
        assert bool(was_clipped) == (norm > threshold)
    np.testing.assert_allclose(float(optimizer.clip_threshold), np.percentile(history, 25))


def test_non_finite_norms_are_not_recorded():
    weights = [keras.Variable(np.zeros((2,), "float32"))]
    optimizer = AutoClip(keras.optimizers.SGD(0.1), history_size=4)
    optimizer.build(weights)
    optimizer.clip([np.array([3.0, 4.0], "float32")], weights)
    optimizer.clip([np.array([np.inf, 0.0], "float32")], weights)
    assert int(np.asarray(optimizer.norm_count)) == 1
    np.testing.assert_allclose(float(optimizer.clip_threshold), 5.0)


def test_fit_steps_equal_inner_optimizer_on_clipped_grads():
    x, y = _data()
    model, reference = _model(), _model()
    reference.set_weights(model.get_weights())
    model.compile(AutoClip(keras.optimizers.SGD(0.3), percentile=30), LOSS, jit_compile=True)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)

    history, clipped_steps = [], 0
    for step in range(4):
        batch = slice(8 * step, 8 * step + 8)
        grads = _backend_gradients(reference, x[batch], y[batch])
        norm = float(global_norm(grads))
        history.append(norm)
        threshold = np.percentile(history, 30)
        clipped_steps += norm > threshold
        scale = min(1.0, threshold / norm)
        for variable, grad in zip(reference.trainable_weights, grads, strict=True):
            variable.assign(np.asarray(variable) - 0.3 * scale * grad)
    for got, expected in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(float(model.optimizer.clipped_fraction), clipped_steps / 4)
    assert clipped_steps > 0


def test_save_load_round_trip(tmp_path):
    x, y = _data()
    model = _model()
    model.compile(AutoClip(keras.optimizers.Adam(1e-2), percentile=20, history_size=16), LOSS)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "autoclip.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, AutoClip)
    assert isinstance(loaded.optimizer.inner_optimizer, keras.optimizers.Adam)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_allclose(loaded.optimizer.norm_history, model.optimizer.norm_history)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x))
    )


def test_mixed_precision_and_string_name():
    keras.config.set_dtype_policy("mixed_float16")
    x, y = _data()
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(6, "relu"), keras.layers.Dense(3, dtype="float32")]
    )
    model.compile(AutoClip(keras.optimizers.SGD(0.1)), LOSS)
    assert isinstance(model.optimizer.inner_optimizer, AutoClip)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert keras.saving.get_registered_name(AutoClip) == "keras_nnperf>AutoClip"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"optimizer": None},
        {"optimizer": keras.optimizers.SGD(), "percentile": 0},
        {"optimizer": keras.optimizers.SGD(), "percentile": 101},
        {"optimizer": keras.optimizers.SGD(), "history_size": 0},
        {"optimizer": keras.optimizers.SGD(), "history_size": 2.5},
    ],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="Received"):
        AutoClip(**kwargs)


@pytest.mark.parametrize("wrapper", ["AutoClip", "AdaptiveGradientClipping"])
def test_learning_rate_callbacks_schedule_the_wrapped_optimizer_and_give_its_rate_back(wrapper):
    # The clipping optimizers delegate learning_rate to the inner optimizer: a scheduled rate
    # must go there (the applied one), and a plain float rate must be back after fit.
    import numpy as np

    import keras_nnperf as nnp
    from keras_nnperf.callbacks import OneCycle

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    inner = keras.optimizers.SGD(0.05, momentum=0.9)
    model.compile(getattr(nnp.optimizers, wrapper)(inner), "mse")
    rates = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(float(self.model.optimizer.learning_rate))

    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[OneCycle(max_lr=0.1), Record()])
    assert len(set(np.round(rates, 8))) > 1  # the cycle moved the rate that is read
    assert isinstance(model.optimizer.inner_optimizer._learning_rate, keras.Variable)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
