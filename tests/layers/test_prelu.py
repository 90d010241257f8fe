import keras
import numpy as np
import pytest

from keras_nnperf.constraints import ClipRange
from keras_nnperf.layers.prelu import PReLU
from keras_nnperf.testing import check_layer, random_inputs


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _reference(x, layer):
    alpha = np.asarray(layer.alpha.numpy(), dtype="float64")
    return np.where(x >= 0, x, alpha * x)


@pytest.mark.parametrize(
    "mode, alpha_shape", [("channel", (4,)), ("shared", ()), ("element", (2, 4))]
)
def test_prelu_contract(mode, alpha_shape, tmp_path):
    init = keras.initializers.RandomUniform(0.05, 0.5, seed=3)
    layer = check_layer(
        PReLU,
        {"mode": mode, "alpha_initializer": init},
        input_shape=(3, 2, 4),
        reference_fn=_reference,
        tmp_dir=tmp_path,
    )
    assert tuple(layer.alpha.shape) == alpha_shape


def test_default_is_paper_channel_slope_quarter():
    layer = PReLU()
    layer.build((None, 5))
    np.testing.assert_array_equal(layer.alpha.numpy(), np.full(5, 0.25, "float32"))
    x = np.array([[-4.0, -1.0, 0.0, 1.0, 4.0]], "float32")
    np.testing.assert_array_equal(_np(layer(x)), [[-1.0, -0.25, 0.0, 1.0, 4.0]])


def test_initializer_by_name_and_constraint_applied_after_step():
    layer = PReLU("zeros", alpha_constraint=ClipRange(0.0, 0.05))
    model = keras.Sequential([keras.Input((4,)), layer])
    model.compile(keras.optimizers.SGD(10.0), "mse")
    x = -np.ones((8, 4), "float32")
    model.fit(x, np.full((8, 4), -5.0, "float32"), verbose=0, epochs=2)
    np.testing.assert_allclose(layer.alpha.numpy(), 0.05)


def test_nested_activation_weights_saved_and_restored(tmp_path):
    # Keras builds a `Dense(activation=layer)` activation on its first real call only, so the
    # loaded one is unbuilt when its weights arrive and must build from their shape.
    dense = keras.layers.Dense(3, activation=PReLU(mode="channel"))
    model = keras.Sequential([keras.Input((2,)), dense])
    x = random_inputs((4, 2))
    model(x)
    dense.activation.alpha.assign([0.1, 0.2, 0.3])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.layers[0].activation.alpha.numpy(), [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))


@pytest.mark.parametrize("mode, shape", [("channel", (3,)), ("shared", ()), ("element", (2, 3))])
def test_unbuilt_layer_builds_from_saved_weights(mode, shape):
    layer = PReLU(mode=mode)
    value = np.random.default_rng(0).uniform(size=shape).astype("float32")
    layer.load_own_variables({"0": value})
    assert layer.built
    np.testing.assert_array_equal(layer.alpha.numpy(), value)


@pytest.mark.tensorflow_only("tf.distribute.MirroredStrategy; JAX: tests/test_data_parallel.py")
def test_mirrored_strategy_fit_matches_single_device():
    import tensorflow as tf

    from keras_nnperf.testing import two_cpu_strategy

    x = random_inputs((8, 4), seed=5)
    y = np.random.default_rng(6).normal(size=(8, 1)).astype("float32")

    def train(strategy):
        keras.utils.set_random_seed(7)
        with strategy.scope():
            model = keras.Sequential(
                [keras.Input((4,)), keras.layers.Dense(4), PReLU(), keras.layers.Dense(1)]
            )
            model.compile(keras.optimizers.SGD(0.1), "mse")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        return model.layers[1].alpha.numpy()

    mirrored = train(two_cpu_strategy())
    single = train(tf.distribute.get_strategy())
    assert not np.allclose(mirrored, 0.25)
    np.testing.assert_allclose(mirrored, single, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"mode": "per_channel"}, "mode"),
        ({"alpha_initializer": float("inf")}, "alpha_initializer"),
        ({"alpha_initializer": True}, "alpha_initializer"),
        ({"alpha_initializer": "no_such_init"}, "alpha_initializer"),
        ({"alpha_regularizer": "no_such_reg"}, "alpha_regularizer"),
        ({"alpha_constraint": "no_such_constraint"}, "alpha_constraint"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, name):
    value = next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        PReLU(**kwargs)


def test_channel_mode_needs_known_last_axis():
    with pytest.raises(ValueError, match="input_shape"):
        PReLU().build((None, None))
