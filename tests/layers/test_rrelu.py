import keras
import numpy as np
import pytest

from keras_nnperf.layers.rrelu import RReLU
from keras_nnperf.random_hash import hash_uniform
from keras_nnperf.testing import check_layer, random_inputs, value_and_grad

LOWER, UPPER = 1.0 / 8.0, 1.0 / 3.0
BACKEND = keras.backend.backend()


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _slopes(layer, shape=(64, 128)):
    """The slopes of one training call: y / x on strictly negative inputs."""
    x = -np.ones(shape, "float32")
    return _np(layer(x, training=True)) / x


def test_rrelu_contract_inference(tmp_path):
    check_layer(
        RReLU,
        {"seed": 1},
        input_shape=(3, 4),
        reference_fn=lambda x, layer: np.where(x >= 0, x, (LOWER + UPPER) / 2 * x),
        tmp_dir=tmp_path,
    )


def test_rrelu_contract_training_shape_dtype_fit():
    check_layer(RReLU, {"seed": 1}, input_shape=(3, 4), training=True, deterministic=False)


def test_inference_slope_is_exact_mean():
    y = _np(RReLU(0.1, 0.3)(np.array([[-2.0, 3.0]], "float32"), training=False))
    np.testing.assert_array_equal(y, np.array([[-2.0 * np.float32(0.2), 3.0]], "float32"))


def test_training_slopes_uniform_in_bounds_and_positive_side_identity():
    layer = RReLU(seed=3)
    slopes = _slopes(layer)
    assert slopes.min() >= LOWER and slopes.max() <= UPPER
    width = UPPER - LOWER
    assert abs(slopes.mean() - (LOWER + UPPER) / 2) < 0.01 * width
    assert abs(slopes.var() - width**2 / 12) < 0.03 * width**2 / 12
    # Deciles each hold about 10% of the draws.
    counts = np.histogram(slopes, bins=10, range=(LOWER, UPPER))[0] / slopes.size
    np.testing.assert_allclose(counts, 0.1, atol=0.01)
    x = np.abs(random_inputs((4, 5)))
    np.testing.assert_array_equal(_np(layer(x, training=True)), x)


def test_fresh_each_call_and_reproducible_from_seed():
    first, second = RReLU(seed=11), RReLU(seed=11)
    a1, a2 = _slopes(first), _slopes(first)
    b1, b2 = _slopes(second), _slopes(second)
    assert np.mean(a1 == a2) < 0.01
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert np.mean(_slopes(RReLU(seed=12)) == a1) < 0.01


def _compiled_training_call(layer, jit_compile=True):
    """`x -> layer(x, training=True)` compiled by the backend, advancing the layer's seed."""
    if BACKEND == "jax":
        import jax

        @jax.jit
        def stateless(non_trainable, x):
            return layer.stateless_call([], non_trainable, x, training=True)

        def call(x):
            y, non_trainable = stateless([v.value for v in layer.non_trainable_variables], x)
            for variable, value in zip(layer.non_trainable_variables, non_trainable, strict=True):
                variable.assign(value)
            return y

        return call
    import tensorflow as tf

    return tf.function(lambda v: layer(v, training=True), jit_compile=jit_compile)


@pytest.mark.skipif(BACKEND == "torch", reason="PyTorch has no XLA")
def test_xla_slopes_identical_to_eager():
    # The hash relies on uint32 wrap-around in multiply and shift; XLA must draw the same bits
    # (it may fuse lower + width * u into one rounding, hence the 1-ulp tolerance).
    eager_layer, xla_layer = RReLU(seed=5), RReLU(seed=5)
    x = -np.ones((8, 33), "float32")
    xla_layer.build(x.shape)
    xla = _compiled_training_call(xla_layer)
    for _ in range(2):
        np.testing.assert_allclose(_np(xla(x)), _np(eager_layer(x, training=True)), rtol=3e-7)


@pytest.mark.tensorflow_only("tf.function with and without XLA (two code paths on TensorFlow)")
@pytest.mark.parametrize("jit_compile", [False, True], ids=["tf_function", "xla"])
def test_compiled_slopes_in_bounds_fresh_each_step_and_same_stream(jit_compile):
    import tensorflow as tf

    # Without XLA the layer runs the hash in its own XLA kernels; both paths draw the same bits.
    layer, eager_layer = RReLU(0.1, 0.3, seed=8), RReLU(0.1, 0.3, seed=8)
    step = tf.function(lambda v: layer(v, training=True), jit_compile=jit_compile)
    x = -np.ones((32, 64), "float32")
    first, second = -step(x).numpy(), -step(x).numpy()
    for slopes in (first, second):
        assert slopes.min() >= 0.1 and slopes.max() <= 0.3
        np.testing.assert_allclose(slopes, _slopes(eager_layer, x.shape), rtol=3e-7)
    assert np.mean(first == second) < 0.01


@pytest.mark.tensorflow_only("TensorFlow's no-XLA graphs run the hash in their own XLA kernels")
def test_uncompiled_graph_runs_training_slopes_in_xla_kernels():
    import tensorflow as tf

    # The no-XLA speed (about LeakyReLU's, not 8x it) depends on this dispatch; keep it pinned.
    layer = RReLU(seed=1)

    def step(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = layer(v, training=True)
        return tape.gradient(y, v)

    graph = tf.function(step).get_concrete_function(tf.TensorSpec((4, 8))).graph
    calls = [op for op in graph.get_operations() if op.type == "PartitionedCall"]
    assert len(calls) == 2  # forward and backward
    assert all(op.get_attr("_XlaMustCompile") for op in calls)


def test_layers_of_different_ranks_train_in_one_process():
    # The XLA kernels are shared process-wide and relax to unknown rank after a 2-D and a 4-D
    # input (a HyperCNN trial after a HyperMLP one failed this way).
    for shape in [(5,), (4, 4, 3), (6, 2), (2, 3, 2, 2)]:
        inputs = keras.Input(shape)
        outputs = keras.layers.Dense(1)(keras.layers.Flatten()(RReLU(seed=0)(inputs)))
        model = keras.Model(inputs, outputs)
        model.compile("sgd", "mse")
        x = np.random.default_rng(0).normal(size=(8, *shape)).astype("float32")
        history = model.fit(x, np.ones((8, 1)), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])


@pytest.mark.tensorflow_only("the kernels exist only for TensorFlow without XLA")
def test_flattened_xla_kernels_draw_each_elements_hash():
    import tensorflow as tf

    from keras_nnperf.activations import _rrelu_in_xla_kernels

    # Flattened inside the kernels, the slopes are still the hash of each element's index.
    x = -np.abs(np.random.default_rng(1).normal(size=(3, 4, 5)).astype("float32"))
    seed = tf.constant([9, 4], "uint32")
    got = _rrelu_in_xla_kernels(tf.constant(x), seed, 0.1, 0.3).numpy()
    u = _np(hash_uniform(x.shape, seed))
    np.testing.assert_allclose(got, x * (0.1 + 0.2 * u), rtol=1e-6)


def test_gradient_is_the_slope_used_in_forward():
    layer = RReLU(seed=2)
    x = random_inputs((6, 7))
    state = layer.seed_generator.state.numpy()
    _, grad = value_and_grad(lambda v: layer(v, training=True), x)
    layer.seed_generator.state.assign(state)
    expected = _np(layer(x, training=True)) / x
    np.testing.assert_allclose(grad, expected, rtol=1e-6)


@pytest.mark.tensorflow_only("tf.distribute.MirroredStrategy; JAX: tests/test_data_parallel.py")
def test_mirrored_strategy_fit_runs_and_slopes_differ_per_step():
    from keras_nnperf.testing import two_cpu_strategy

    x = random_inputs((8, 4), seed=5)
    y = np.random.default_rng(6).normal(size=(8, 1)).astype("float32")
    with two_cpu_strategy().scope():
        layer = RReLU(seed=4)
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(4), layer, keras.layers.Dense(1)]
        )
        model.compile(keras.optimizers.SGD(0.01), "mse")
    state = layer.seed_generator.state.numpy()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.array_equal(layer.seed_generator.state.numpy(), state)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"lower": -0.1}, "lower=-0.1"),
        ({"lower": 0.5, "upper": 0.2}, "upper=0.2"),
        ({"lower": "a"}, "lower='a'"),
        ({"upper": None}, "upper=None"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"upper": float("inf")}, "upper=inf"),
        ({"lower": float("nan")}, "lower=nan"),
        ({"seed": True}, "seed=True"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        RReLU(**kwargs)


def test_numpy_scalars_are_numbers():
    layer = RReLU(np.float32(0.125), np.float64(0.25), seed=np.int64(3))
    assert layer.get_config()["seed"] == 3 and type(layer.get_config()["seed"]) is int
    assert layer.upper == 0.25 and type(layer.upper) is float
