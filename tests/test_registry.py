import keras
import numpy as np
import pytest

import keras_nnperf
from keras_nnperf import registry, testing
from keras_nnperf.activations import mish
from keras_nnperf.layers.mc_dropout import MCDropout
from keras_nnperf.layers.mish import Mish
from keras_nnperf.layers.pelu import PELU
from keras_nnperf.layers.prelu import PReLU
from keras_nnperf.layers.pswish import PSwish
from keras_nnperf.layers.rrelu import RReLU

PARAMETRIC = {"prelu": PReLU, "rrelu": RReLU, "pswish": PSwish, "pelu": PELU}


def test_activation_names_resolve_to_our_objects():
    assert keras_nnperf.get_activation("mish") is mish
    for name, cls in PARAMETRIC.items():
        assert type(keras_nnperf.get_activation(name)) is cls
    assert keras_nnperf.activation is keras_nnperf.get_activation


@pytest.mark.parametrize("name", ["PReLU", " prelu ", "MISH", "Mish"])
def test_lookup_normalises_case_and_space(name):
    assert registry.lookup("activation", name) in (PReLU, mish)


def test_dash_normalised_to_underscore():
    assert registry.lookup("layer", "mc-dropout") is MCDropout
    assert registry.lookup("layer", "MC_Dropout") is MCDropout


LAYERS = {
    "prelu": PReLU,
    "rrelu": RReLU,
    "mish": Mish,
    "pswish": PSwish,
    "pelu": PELU,
    "mc_dropout": MCDropout,
}


@pytest.mark.parametrize("name, cls", list(LAYERS.items()))
def test_every_layer_registered_as_layer_and_with_keras(name, cls):
    assert registry.lookup("layer", name) is cls
    assert keras.saving.get_registered_object(f"keras_nnperf>{cls.__name__}") is cls


def test_class_instantiated_with_kwargs():
    layer = keras_nnperf.get_activation("rrelu", lower=0.05, upper=0.1)
    assert (layer.lower, layer.upper) == (0.05, 0.1)
    assert keras_nnperf.get_layer(PSwish, mode="channel").mode == "channel"


def test_callables_and_instances_pass_through():
    layer = PReLU()
    assert keras_nnperf.get_activation(layer) is layer
    assert keras_nnperf.get_activation(np.tanh) is np.tanh
    assert keras_nnperf.get_activation(None) is None


def test_keras_fallback_names():
    assert keras_nnperf.get_activation("relu") is keras.activations.relu
    assert isinstance(keras_nnperf.get_initializer("he_normal"), keras.initializers.HeNormal)


def test_unknown_name_lists_ours():
    with pytest.raises(ValueError, match="prelu") as info:
        keras_nnperf.get_activation("no_such_activation")
    assert "no_such_activation" in str(info.value) and "rrelu" in str(info.value)


def test_kwargs_with_a_function_raise():
    with pytest.raises(ValueError, match="mish"):
        keras_nnperf.get_activation("mish", beta=2.0)
    with pytest.raises(ValueError, match="beta"):
        keras_nnperf.get_activation(np.tanh, beta=2.0)


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="kind='activations'"):
        registry.names("activations")


@pytest.mark.parametrize("name", ["mish", "prelu", "rrelu", "pswish", "pelu"])
def test_dense_activation_trains_saves_and_loads_identically(name, tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    dense = keras.layers.Dense(4, activation=keras_nnperf.activation(name))
    model = keras.Sequential([keras.Input((3,)), dense])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    own = [v.numpy() for v in getattr(dense.activation, "trainable_weights", [])]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    restored = [v.numpy() for v in getattr(loaded.layers[0].activation, "trainable_weights", [])]
    assert len(restored) == len(own)
    for before, after in zip(own, restored, strict=True):
        np.testing.assert_array_equal(after, before)
    if own:
        # Trained values, not the initial ones, came back.
        fresh = keras_nnperf.activation(name)
        fresh.build((None, 4))
        assert any(not np.allclose(a, b.numpy()) for a, b in zip(own, fresh.weights, strict=True))


def test_all_activations_fit_in_mixed_float16():
    keras.config.set_dtype_policy("mixed_float16")
    stack = [keras.Input((6,))]
    for name in ["prelu", "rrelu", "mish", "pswish", "pelu"]:
        stack.append(keras.layers.Dense(6, activation=keras_nnperf.activation(name)))
    stack.append(keras.layers.Dense(1, dtype="float32"))
    model = keras.Sequential(stack)
    model.compile(keras.optimizers.SGD(0.05), "mse")
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32") * 4
    y = np.random.default_rng(1).normal(size=(16, 1)).astype("float32")
    activations = [layer.activation for layer in model.layers[:-1]]
    activations = [a for a in activations if isinstance(a, keras.layers.Layer)]
    model(x)
    before = {id(a): [w.numpy().copy() for w in a.trainable_weights] for a in activations}
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    for activation in activations:
        for weight, old in zip(activation.trainable_weights, before[id(activation)], strict=True):
            assert weight.dtype == "float32" and not np.array_equal(weight.numpy(), old)


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="PyTorch has no XLA")
@pytest.mark.parametrize("name", ["prelu", "rrelu", "mish", "pswish", "pelu"])
def test_mixed_float16_forward_backward_under_xla(name):
    layer = keras_nnperf.get_layer(name, dtype="mixed_float16")
    x = np.linspace(-60, 60, 24, dtype="float16").reshape(4, 6)
    layer.build(x.shape)
    weights = np.ones(x.shape, "float16")
    if keras.backend.backend() == "jax":
        import jax

        step = jax.jit(lambda v: testing.loss_and_grads(layer, v, weights, training=True))
    else:
        import tensorflow as tf

        step = tf.function(
            lambda v: testing.loss_and_grads(layer, v, weights, training=True), jit_compile=True
        )
    loss, grads = step(x)
    assert keras.backend.standardize_dtype(grads[0].dtype) == "float16"
    for value in (loss, *grads):
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(value)))


def test_reuse_compress_average_components_have_their_names():
    from keras_nnperf.callbacks import EMA, SWA, GradientNoiseScale
    from keras_nnperf.distillation import Distiller
    from keras_nnperf.optimizers import Lookahead

    named = {
        ("model", "distiller"): Distiller,
        ("callback", "ema"): EMA,
        ("callback", "exponential_moving_average"): EMA,
        ("callback", "swa"): SWA,
        ("callback", "stochastic_weight_averaging"): SWA,
        ("callback", "gradient_noise_scale"): GradientNoiseScale,
        ("optimizer", "lookahead"): Lookahead,
    }
    for (kind, name), cls in named.items():
        assert registry.lookup(kind, name) is cls, (kind, name)
    assert registry.names("model") == ["distiller"]
    assert keras.saving.get_registered_object("keras_nnperf>Distiller") is Distiller


def test_distiller_built_by_name_saves_and_loads(tmp_path):
    from keras_nnperf.distillation import Distiller

    keras.utils.set_random_seed(0)
    teacher = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    student = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    distiller = registry.get("model", "distiller", teacher=teacher, student=student, alpha=0.3)
    assert type(distiller) is Distiller and distiller.alpha == 0.3
    distiller.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    distiller.fit(x, np.arange(8) % 3, epochs=1, verbose=0)
    distiller.save(tmp_path / "distiller.keras")
    loaded = keras.models.load_model(tmp_path / "distiller.keras")
    assert type(loaded) is Distiller and loaded.alpha == 0.3
    np.testing.assert_allclose(loaded.predict(x, verbose=0), distiller.predict(x, verbose=0))
