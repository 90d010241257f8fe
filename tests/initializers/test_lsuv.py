import keras
import numpy as np
import pytest

from keras_nnperf.initializers.lsuv import LayerLSUVResult, LSUVReport, lsuv

TOL = 0.1
SPREAD_BIAS = keras.initializers.RandomNormal(stddev=0.5, seed=0)


def pre_activation(model, layer, x):
    """The layer's linear output, recomputed independently of lsuv: x @ W + b, or conv(x, W) + b."""
    inputs = keras.Model(model.inputs[0], layer.input)(x)
    kernel = layer.kernel
    if isinstance(layer, keras.layers.Dense):
        z = keras.ops.matmul(inputs, kernel)
    else:
        z = keras.ops.conv(inputs, kernel, strides=layer.strides, padding=layer.padding)
    if layer.use_bias:
        z = z + layer.bias
    return keras.ops.convert_to_numpy(z)


def assert_unit_variance(model, report, x, tol=TOL):
    kernel_layers = [layer for layer in model.layers if hasattr(layer, "kernel")]
    assert [result.name for result in report] == [layer.name for layer in kernel_layers]
    for layer, result in zip(kernel_layers, report, strict=True):
        variance = pre_activation(model, layer, x).var()
        assert abs(variance - 1.0) < tol, (layer.name, variance)
        assert result.variance == pytest.approx(variance, rel=1e-4)
        assert result.converged


def test_dense_net_reaches_unit_pre_activation_variance():
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(256, 32)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((32,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dropout(0.5),
            # A bias that varies across units adds variance the kernel scale does not touch, so one
            # rescaling is not enough: lsuv has to iterate.
            keras.layers.Dense(48, activation="tanh", bias_initializer=SPREAD_BIAS),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(10),
        ]
    )
    report = lsuv(model, x, tol=0.02, seed=1)

    assert isinstance(report, LSUVReport) and len(report) == 3 and report.converged
    assert_unit_variance(model, report, x, tol=0.02)
    assert report.skipped == ("dropout", "batch_normalization")
    assert report["dense_1"].iterations >= 2
    assert all(isinstance(r, LayerLSUVResult) and 1 <= r.iterations <= 10 for r in report)
    # The activation was only switched off while measuring.
    assert model.layers[0].activation is keras.activations.relu
    # Orthonormal start, then a scalar rescale: the rows of the first kernel stay orthogonal.
    kernel = keras.ops.convert_to_numpy(model.layers[0].kernel)
    gram = kernel @ kernel.T
    np.testing.assert_allclose(gram / gram[0, 0], np.eye(32), atol=1e-4)


def test_conv_nets_reach_unit_pre_activation_variance():
    rng = np.random.default_rng(1)
    cases = [
        (keras.layers.Conv1D, (12, 3)),
        (keras.layers.Conv2D, (8, 8, 3)),
        (keras.layers.Conv3D, (5, 5, 5, 2)),
    ]
    for conv, input_shape in cases:
        inputs = keras.Input(input_shape)
        hidden = conv(8, 3, activation="relu")(inputs)
        hidden = conv(6, 3, activation="relu", padding="same", bias_initializer=SPREAD_BIAS)(hidden)
        hidden = keras.layers.Flatten()(hidden)
        model = keras.Model(inputs, keras.layers.Dense(4)(hidden))
        x = rng.normal(size=(64, *input_shape)).astype("float32")
        report = lsuv(model, x, tol=TOL, seed=2)
        assert report.converged, conv
        assert_unit_variance(model, report, x)
        assert len(report.skipped) == 1 and report.skipped[0].startswith("flatten")


def test_unbuilt_sequential_and_multi_input_models():
    x = np.random.default_rng(2).normal(size=(128, 6)).astype("float32")
    unbuilt = keras.Sequential([keras.layers.Dense(16, activation="elu"), keras.layers.Dense(2)])
    assert lsuv(unbuilt, x).converged

    left, right = keras.Input((6,)), keras.Input((3,))
    merged = keras.layers.Concatenate()([keras.layers.Dense(8)(left), right])
    model = keras.Model([left, right], keras.layers.Dense(5)(merged))
    report = lsuv(model, [x, x[:, :3]], tol=0.05)
    assert len(report) == 2 and report.converged
    assert "concatenate" in report.skipped


def test_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    x = np.random.default_rng(3).normal(size=(128, 16)).astype("float32")
    model = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(32, "relu"), keras.layers.Dense(8)]
    )
    report = lsuv(model, x)
    assert report.converged
    assert all(abs(result.variance - 1) < TOL for result in report)


def test_report_prints_readably_and_indexes_by_name():
    x = np.random.default_rng(4).normal(size=(64, 8)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, name="hidden"),
            keras.layers.ReLU(name="act"),
            keras.layers.Dense(4, name="head"),
        ]
    )
    report = lsuv(model, x, tol=0.2)
    text = str(report)
    assert "LSUV (tol=0.2): 2 of 2 layers converged" in text
    assert "hidden" in text and "head" in text and "variance" in text and "iterations" in text
    assert "skipped (no kernel): act" in text
    assert report["head"] is report[1]
    with pytest.raises(KeyError, match="act"):
        report["act"]


def test_verbose_prints_each_layer(capsys):
    x = np.random.default_rng(5).normal(size=(64, 8)).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(4)])
    lsuv(model, x, verbose=True)
    assert capsys.readouterr().out.count("LSUV ") == 2


def test_subclassed_model_raises():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(4)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="Sequential or functional"):
        lsuv(Net(), np.ones((4, 3), "float32"))


def test_bad_arguments_raise_naming_argument_and_value():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    x = np.ones((8, 3), "float32")
    cases = [
        ({"model": "model"}, "model"),
        ({"x_batch": None}, "x_batch"),
        ({"x_batch": np.ones((0, 3), "float32")}, "x_batch"),
        ({"tol": 0}, "tol"),
        ({"tol": -0.1}, "tol"),
        ({"tol": float("nan")}, "tol"),
        ({"tol": "0.1"}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"max_iter": True}, "max_iter"),
        ({"seed": "1"}, "seed"),
    ]
    for kwargs, argument in cases:
        arguments = {"model": model, "x_batch": x, **kwargs}
        with pytest.raises(ValueError, match=f"Argument {argument}") as info:
            lsuv(**arguments)
        assert f"Received: {argument}={kwargs[argument]!r}" in str(info.value), kwargs


def test_numpy_scalar_arguments_are_valid():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    lsuv(model, x, tol=np.float64(0.1), max_iter=np.int64(3), seed=0)
