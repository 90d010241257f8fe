import keras
import numpy as np
import pytest

from keras_nnperf.optimizers.adaptive_clipping import (
    AdaptiveGradientClipping,
    adaptive_clip,
    unitwise_norm,
)

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


def _reference_agc(grad, weight, clip_factor, eps):
    """The formula of Brock et al. 2021 in NumPy, units on the last axis (bias: per element)."""
    axes = tuple(range(grad.ndim - 1))
    if grad.ndim <= 1:
        g_norm, w_norm = np.abs(grad), np.abs(weight)
    else:
        g_norm = np.sqrt(np.sum(grad**2, axis=axes, keepdims=True))
        w_norm = np.sqrt(np.sum(weight**2, axis=axes, keepdims=True))
    max_norm = clip_factor * np.maximum(w_norm, eps)
    return np.where(g_norm > max_norm, grad * max_norm / np.maximum(g_norm, 1e-6), grad)


def _data(n=32):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 5)).astype("float32"), rng.integers(0, 3, n)


def _model():
    return keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(6, "relu"), keras.layers.Dense(3)]
    )


def _grads(model, x, y):
    return _backend_gradients(model, x, y)


def test_unitwise_norm_units_are_the_last_axis():
    kernel = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(unitwise_norm(kernel), np.linalg.norm(kernel, axis=0, keepdims=True))
    bias = np.array([-3.0, 4.0], "float32")
    np.testing.assert_allclose(unitwise_norm(bias), [3.0, 4.0])


def test_adaptive_clip_matches_formula():
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (2, 2, 3, 4), (4,), ()]
    weights = [rng.normal(size=s).astype("float32") for s in shapes]
    weights[2][:2] = 0.0  # zero-initialized bias units: the eps floor decides
    grads = [rng.normal(scale=0.05, size=s).astype("float32") for s in shapes]
    clipped, was_clipped = adaptive_clip(grads, weights, clip_factor=0.02, eps=1e-3)
    for got, grad, weight in zip(clipped, grads, weights, strict=True):
        np.testing.assert_allclose(got, _reference_agc(grad, weight, 0.02, 1e-3), rtol=1e-5)
    assert bool(was_clipped)
    _, none_clipped = adaptive_clip(grads, weights, clip_factor=1e6)
    assert not bool(none_clipped)


def test_fit_step_equals_inner_optimizer_on_clipped_grads():
    x, y = _data()
    model, reference = _model(), _model()
    reference.set_weights(model.get_weights())
    model.compile(AdaptiveGradientClipping(keras.optimizers.Adam(0.01), clip_factor=0.05), LOSS)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)

    grads = _grads(reference, x, y)
    weights = [np.asarray(w) for w in reference.trainable_weights]
    clipped = [_reference_agc(g, w, 0.05, 1e-3) for g, w in zip(grads, weights, strict=True)]
    keras.optimizers.Adam(0.01).apply(
        [keras.ops.convert_to_tensor(g) for g in clipped], reference.trainable_weights
    )
    for got, expected in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert float(model.optimizer.clipped_fraction) == 1.0
    assert int(model.optimizer.iterations) == 1


@pytest.mark.tensorflow_only("tf.distribute.MirroredStrategy")
def test_mirrored_strategy_clips_the_global_gradient():
    import tensorflow as tf

    x, y = _data(16)
    single = _model()
    single.compile(AdaptiveGradientClipping(keras.optimizers.SGD(0.5), clip_factor=0.05), LOSS)
    # Collective all-reduce keys restart at 1 in every MirroredStrategy, so a second strategy
    # in one process can collide with the first one's; reducing to one device avoids that.
    strategy = tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with strategy.scope():
        mirrored = _model()
        mirrored.compile(
            AdaptiveGradientClipping(keras.optimizers.SGD(0.5), clip_factor=0.05), LOSS
        )
    mirrored.set_weights(single.get_weights())
    single.fit(x, y, batch_size=16, epochs=1, verbose=0)
    # Each replica gets a copy of the same batch: the global gradient equals the single one.
    mirrored.fit(np.concatenate([x, x]), np.concatenate([y, y]), batch_size=32, verbose=0)
    for got, expected in zip(mirrored.get_weights(), single.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_mixed_precision_wraps_it_in_loss_scale_optimizer():
    keras.config.set_dtype_policy("mixed_float16")
    x, y = _data()
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(6, "relu"), keras.layers.Dense(3, dtype="float32")]
    )
    model.compile(AdaptiveGradientClipping(keras.optimizers.SGD(0.1)), LOSS)
    assert isinstance(model.optimizer.inner_optimizer, AdaptiveGradientClipping)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_save_load_round_trip(tmp_path):
    x, y = _data()
    model = _model()
    model.compile(AdaptiveGradientClipping(keras.optimizers.Adam(1e-2), clip_factor=0.03), LOSS)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    path = str(tmp_path / "agc.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, AdaptiveGradientClipping)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x))
    )


def test_learning_rate_and_iterations_delegate():
    inner = keras.optimizers.SGD(0.1)
    wrapper = AdaptiveGradientClipping(inner)
    wrapper.learning_rate = 0.05
    np.testing.assert_allclose(float(inner.learning_rate), 0.05)
    assert wrapper.iterations is inner.iterations


@pytest.mark.parametrize(
    "kwargs",
    [
        {"optimizer": "adam"},
        {"optimizer": keras.optimizers.SGD(), "clip_factor": 0},
        {"optimizer": keras.optimizers.SGD(), "eps": -1.0},
        {"optimizer": keras.optimizers.SGD(loss_scale_factor=128.0)},
    ],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="Received"):
        AdaptiveGradientClipping(**kwargs)
