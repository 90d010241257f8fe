import keras
import numpy as np
import pytest
from keras import ops

from keras_nnperf.diagnostics import _float64
from keras_nnperf.diagnostics.gradient_check import gradient_check
from keras_nnperf.diagnostics.gradients import value_and_gradients


class ScaledSquare(keras.layers.Layer):
    """`y = x * w**2` with a hand-written gradient; `broken=True` drops the factor 2 in dy/dw."""

    def __init__(self, broken=False, **kwargs):
        super().__init__(**kwargs)
        self.broken = broken

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        factor = 1.0 if self.broken else 2.0

        @ops.custom_gradient
        def forward(x, w):
            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                dw = ops.sum(upstream * x * factor * w, axis=0)
                return upstream * w * w, dw

            return x * w * w, grad

        # A tensor, not the variable: tf.custom_gradient treats captured variables apart.
        return forward(x, ops.add(self.w, 0.0))

    def get_config(self):
        return {**super().get_config(), "broken": self.broken}


def _x(*shape):
    return np.random.default_rng(0).normal(size=shape).astype("float32")


def test_catches_a_wrong_custom_gradient():
    layer = ScaledSquare(broken=True)
    layer.build((None, 3))
    layer.w.assign([0.5, -1.5, 2.0])
    result = gradient_check(layer, _x(4, 3), seed=0)
    assert not result.passed
    assert [v.name for v in result.failing] == [layer.w.path]
    assert result.failing[0].max_relative_error > 0.3  # half the true gradient: error 1/3
    assert "FAIL" in str(result)


def test_passes_the_same_layer_with_the_right_gradient():
    layer = ScaledSquare()
    layer.build((None, 3))
    layer.w.assign([0.5, -1.5, 2.0])
    result = gradient_check(layer, _x(4, 3), seed=0)
    assert result.passed, result
    assert max(result.max_relative_error.values()) < 1e-6


@pytest.mark.parametrize(
    "layer, shape",
    [
        (keras.layers.Dense(3, activation="tanh"), (4, 5)),
        (keras.layers.Conv2D(2, 3, activation="relu"), (2, 5, 5, 2)),
    ],
)
def test_passes_keras_layers(layer, shape):
    result = gradient_check(layer, _x(*shape), seed=0)
    assert result.passed, result
    assert {v.name for v in result.variables} == {v.path for v in layer.trainable_variables}


@pytest.mark.parametrize("name", ["PReLU", "Mish", "PSwish", "PELU"])
def test_passes_our_layers(name):
    layers = pytest.importorskip("keras_nnperf.layers")
    layer = getattr(layers, name)()
    x = _x(6, 4) * 2.0
    if not layer.trainable_variables:  # Mish has no weights: check it inside a Dense stack.
        layer = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), layer])
    result = gradient_check(layer, x, max_elements_per_variable=4, seed=0)
    assert result.passed, result


def test_model_with_compiled_loss_and_original_left_untouched():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [w.copy() for w in model.get_weights()]
    y = np.array([0, 1, 2, 1])
    result = gradient_check(model, _x(4, 4), y, seed=0)
    assert result.passed, result
    assert len(result.variables) == 4
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)
    assert model.layers[0].kernel.dtype == "float32"


def test_float32_is_coarser_but_still_catches_a_wrong_gradient():
    layer = ScaledSquare(broken=True)
    assert not gradient_check(layer, _x(4, 3), dtype="float32", seed=0).passed


def test_rejects_bad_arguments():
    bad = [
        {"eps": 0.0},
        {"eps": True},
        {"eps": float("nan")},
        {"tolerance": -1.0},
        {"tolerance": float("inf")},
        {"max_elements_per_variable": 0},
        {"max_elements_per_variable": 2.0},
        {"dtype": "f16"},
    ]
    for kwargs in bad:
        name = next(iter(kwargs))
        with pytest.raises(ValueError, match=f"Argument {name} .*Received: {name}="):
            gradient_check(keras.layers.Dense(2), _x(2, 3), **kwargs)


def test_numpy_scalars_are_valid_arguments():
    result = gradient_check(
        keras.layers.Dense(2),
        _x(2, 3),
        tolerance=np.float32(0.05),
        max_elements_per_variable=np.int64(3),
        seed=0,
    )
    assert result.passed, result


def test_y_without_a_loss_raises():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="loss"):
        gradient_check(model, _x(2, 3), np.zeros((2, 1)))


def _mc_dropout_model():
    from keras_nnperf.layers import MCDropout

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), MCDropout(0.5), keras.layers.Dense(1)]
    )


def test_a_model_random_at_inference_is_refused_not_failed():
    # MCDropout draws a mask at every pass: the central differences measured the mask's noise
    # and the check "failed" a healthy model (relative errors 0.3-0.97).
    model = _mc_dropout_model()
    try:
        result = gradient_check(model, _x(8, 4))
    except ValueError as err:
        assert "random at inference" in str(err) and "MCDropout" in str(err)
    else:
        # JAX's compiled pass fixes the random state it does not carry: one mask for every
        # pass, so the derivative checked is that mask's, and it must be right.
        assert keras.backend.backend() == "jax", "only JAX may fix the mask"
        assert result.passed, result


def test_vanishing_gradients_below_the_rounding_error_pass():
    # Six sigmoid layers with std-0.01 weights: the first layers' gradients are ~1e-13, below
    # what central differences resolve (u |f| / eps ~ 1e-10 in float64). They used to "fail".
    init = keras.initializers.RandomNormal(stddev=0.01, seed=0)
    layers = [keras.Input((8,))]
    for _ in range(6):
        layers.append(
            keras.layers.Dense(
                16,
                "sigmoid",
                kernel_initializer=init,
                bias_initializer=keras.initializers.Constant(-0.5),
            )
        )
    model = keras.Sequential([*layers, keras.layers.Dense(3, "softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(size=(16, 8)).astype("float32")
    result = gradient_check(model, x, np.arange(16) % 3, max_elements_per_variable=4, seed=0)
    assert result.passed, result
    first = result.variables[0]
    assert first.max_absolute_error <= first.rounding_error  # all of it is rounding


def test_default_dtype_is_float64_on_every_backend():
    result = gradient_check(ScaledSquare(), _x(4, 3), seed=0)
    assert result.dtype == "float64" and result.eps == 1e-6 and result.tolerance == 1e-4


def test_keras_still_maps_float64_to_float32_in_one_table():
    # `float64_computation` switches this private table; if Keras moves it, the checks fall back
    # to float32 on JAX and PyTorch, and this test says why.
    from keras.src.backend.common import dtypes

    assert isinstance(dtypes.BIT64_TO_BIT32_DTYPE, dict)
    mapped = "float64" if keras.backend.backend() == "tensorflow" else "float32"
    assert dtypes.BIT64_TO_BIT32_DTYPE["float64"] == mapped
    assert keras.backend.result_type("float64", "float64") == mapped
    assert _float64.precise_dtype() == "float64"


def test_float64_computation_computes_in_float64_and_restores_keras():
    # 1 + 2**-40 is exact in float64 and rounds to 1 in float32 (24-bit significand).
    tiny = 2.0**-40
    x = np.array([[1.0 + tiny, 1.0]])
    with _float64.float64_computation():
        assert keras.backend.result_type("float64", "float64") == "float64"
        dense = keras.layers.Dense(1, kernel_initializer="ones", dtype="float64")
        out = dense(x)
        # On PyTorch a float64 Dense layer used to multiply in float32.
        assert keras.backend.standardize_dtype(out.dtype) == "float64"
        assert float(ops.convert_to_numpy(out)[0, 0]) - 2.0 == tiny
        loss = keras.losses.MeanSquaredError(dtype="float64")
        value = loss(np.array([[2.0]]), out)
        # Outside the context a float64 Keras loss returns float32 on PyTorch and JAX.
        assert keras.backend.standardize_dtype(value.dtype) == "float64"
        assert float(ops.convert_to_numpy(value)) == tiny**2
        _, grads = value_and_gradients(lambda: loss(np.array([[2.0]]), dense(x)), [dense.kernel])
        np.testing.assert_array_equal(ops.convert_to_numpy(grads[0]), 2 * tiny * x.T)
    mapped = "float64" if keras.backend.backend() == "tensorflow" else "float32"
    assert keras.backend.result_type("float64", "float64") == mapped
    with pytest.raises(KeyError):  # restored when the block raises too
        with _float64.float64_computation():
            raise KeyError("boom")
    assert keras.backend.result_type("float64", "float64") == mapped
    if keras.backend.backend() == "jax":
        import jax

        assert not jax.config.jax_enable_x64


def test_a_dense_model_is_checked_to_float64_precision():
    # In float32, central differences at eps=1e-6 are noise (u |f| / eps ~ 0.1): if the check
    # silently computed in float32 (as Keras does on JAX and PyTorch for float64 tensors), the
    # errors would be far above 1e-6. In float64 a correct gradient agrees to ~1e-8.
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(3)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    result = gradient_check(model, _x(6, 5), np.array([0, 1, 2, 0, 1, 2]), seed=0)
    assert result.dtype == "float64"
    assert max(result.max_relative_error.values()) < 1e-6, result
    assert max(v.max_absolute_error for v in result.variables) < 1e-7, result
    assert model.layers[0].kernel.dtype == "float32"
    mapped = "float64" if keras.backend.backend() == "tensorflow" else "float32"
    assert keras.backend.result_type("float64", "float64") == mapped


def test_diagnose_reports_a_wrong_gradient_in_float64():
    diagnose = pytest.importorskip("keras_nnperf.diagnostics").diagnose
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2), ScaledSquare(broken=True), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    x, y = _x(32, 3), _x(32, 1)
    report = diagnose(model, x, y, run_lr_finder=False, run_noise_scale=False)
    (finding,) = [f for f in report.findings if f.code == "wrong_gradients"]
    assert finding.evidence["dtype"] == "float64"  # one check decides, on every backend
    # Analytic half the numeric gradient: 1/2 exactly, up to float64 finite differences.
    assert finding.evidence["variables"] == {model.layers[1].w.path: pytest.approx(0.5, abs=1e-6)}


class StepNoise(keras.layers.Layer):
    """`y = x * w + n(w)`, `n(w) = a sin(k w)` hidden from autodiff: exact dy/dw = x.

    `n` stands for the rounding noise of an ill-conditioned float32 loss: with `k = pi / (10 eps)`
    it shifts a central difference at step `eps` by `a cos(k w) sin(pi / 10) / eps` and one at
    `10 eps` by nothing (`sin(pi) = 0`).
    """

    def __init__(self, eps, amplitude, **kwargs):
        super().__init__(**kwargs)
        self.eps, self.amplitude = eps, amplitude

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        noise = self.amplitude * ops.sin(np.pi / (10 * self.eps) * self.w)
        return x * self.w + ops.stop_gradient(noise)

    def get_config(self):
        return {**super().get_config(), "eps": self.eps, "amplitude": self.amplitude}


def test_noise_at_the_step_is_caught_by_the_wider_step():
    eps = 1e-3
    layer = StepNoise(eps, amplitude=1e-3)
    x = _x(4, 3)
    layer.build(x.shape)
    layer.w.assign([0.11, -0.52, 0.93])
    # At the step alone the central difference is far off the exact x.
    r = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")

    def f(w):
        layer.w.assign(w)
        return float(ops.convert_to_numpy(ops.sum(layer(x) * ops.convert_to_tensor(r))))

    w = np.array([0.11, -0.52, 0.93], "float32")
    e = np.array([1.0, 0.0, 0.0], "float32")
    narrow = (f(w + eps * e) - f(w - eps * e)) / (2 * eps)
    exact = float((x * r).sum(0)[0])
    assert abs(narrow - exact) > 0.1 * abs(exact)
    layer.w.assign(w)
    # ... the wider step sees the exact derivative; the check passes.
    assert gradient_check(layer, x, dtype="float32", eps=eps, seed=0).passed
    # A wrong derivative still fails at both steps.
    assert not gradient_check(ScaledSquare(broken=True), x, dtype="float32", eps=eps, seed=0).passed
