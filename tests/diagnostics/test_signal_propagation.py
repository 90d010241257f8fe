import keras
import matplotlib
import numpy as np
import pytest

from keras_nnperf.diagnostics.signal_propagation import signal_propagation

matplotlib.use("Agg")

X = np.random.default_rng(0).normal(size=(128, 16)).astype("float32")
Y = (X[:, 0] > 0).astype("float32")


def _mlp(activation, init, depth=8, width=32):
    hidden = [keras.layers.Dense(width, activation, kernel_initializer=init) for _ in range(depth)]
    model = keras.Sequential([keras.Input((16,)), *hidden, keras.layers.Dense(1, "sigmoid")])
    model.compile("adam", "binary_crossentropy")
    return model


def test_rows_match_a_numpy_forward_and_backward_pass():
    model = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(3)]
    )
    result = signal_propagation(model, X, seed=0)
    w1, b1, w2, b2 = model.get_weights()
    h1 = np.maximum(X @ w1 + b1, 0)
    out = h1 @ w2 + b2
    r = np.random.default_rng(0).standard_normal(out.shape)  # the projection F = sum(out * r)
    g1 = r @ w2.T
    assert [row.name for row in result.rows] == [layer.name for layer in model.layers]
    forward = [row.forward_std for row in result.rows]
    np.testing.assert_allclose(forward, [h1.std(), out.std()], 1e-5)
    np.testing.assert_allclose([row.backward_std for row in result.rows], [g1.std(), r.std()], 1e-5)


def test_healthy_relu_he_net_has_no_flags():
    result = signal_propagation(_mlp("relu", "he_normal"), X, Y)
    assert result.healthy, result
    assert 0.3 < result.forward_ratio < 3 and 0.3 < result.backward_ratio < 3


def test_deep_sigmoid_net_has_vanishing_gradients():
    result = signal_propagation(_mlp("sigmoid", "glorot_uniform"), X, Y)
    assert [f.kind for f in result.flags] == ["vanishing_gradients"]
    assert result.backward_ratio < 1e-2
    assert result.rows[-1].backward_std is None  # BCE of a sigmoid output comes from its logits


def test_deep_relu_glorot_net_has_vanishing_activations():
    result = signal_propagation(_mlp("relu", "glorot_uniform", depth=10), X, Y)
    assert "vanishing_activations" in [f.kind for f in result.flags]


def test_large_init_explodes():
    init = keras.initializers.RandomNormal(stddev=1.0)
    result = signal_propagation(_mlp("linear", init, depth=4), X)
    assert {f.kind for f in result.flags} == {"exploding_activations", "exploding_gradients"}


def test_non_finite_weights_are_flagged():
    model = _mlp("relu", "he_normal", depth=2)
    model.layers[0].kernel.assign(np.full((16, 32), np.inf, "float32"))
    assert "non_finite" in [f.kind for f in signal_propagation(model, X).flags]


def test_plot_returns_a_figure_with_two_panels():
    result = signal_propagation(_mlp("relu", "he_normal", depth=3), X, Y)
    figure = result.plot(label="he")
    assert isinstance(figure, matplotlib.figure.Figure)
    assert len(figure.axes) == 2
    assert len(figure.axes[0].lines) == 1
    matplotlib.pyplot.close(figure)


def test_rejects_bad_ratios():
    model = _mlp("relu", "he_normal", depth=2)
    bad = (
        {"forward_ratio": 0.0},
        {"backward_ratio": 1.5},
        {"forward_ratio": True},
        {"backward_ratio": float("nan")},
    )
    for kwargs in bad:
        name = next(iter(kwargs))
        with pytest.raises(ValueError, match=f"Argument {name} .*Received: {name}="):
            signal_propagation(model, X, **kwargs)
    signal_propagation(model, X, forward_ratio=np.float32(0.5))  # NumPy scalars are numbers


def test_functional_model_with_a_skip_connection_matches_numpy():
    # The gradient at h1 has two paths (through Dense 2 and straight into the Add): the probe
    # measures their sum on every backend.
    inputs = keras.Input((16,))
    h1 = keras.layers.Dense(8, "relu", name="h1")(inputs)
    h2 = keras.layers.Dense(8, name="h2")(h1)
    added = keras.layers.Add(name="add")([h1, h2])
    out = keras.layers.Dense(3, name="out")(added)
    model = keras.Model(inputs, out)
    result = signal_propagation(model, X, seed=0)
    w1, b1, w2, b2, w3, b3 = model.get_weights()
    a1 = np.maximum(X @ w1 + b1, 0)
    a2 = a1 @ w2 + b2
    a3 = a1 + a2
    r = np.random.default_rng(0).standard_normal((len(X), 3))
    g3 = r @ w3.T
    g2 = g3
    g1 = g3 + g2 @ w2.T
    rows = {row.name: row for row in result.rows}
    assert list(rows) == ["h1", "h2", "add", "out"]
    np.testing.assert_allclose(
        [rows[n].forward_std for n in ("h1", "h2", "add")], [a1.std(), a2.std(), a3.std()], 1e-5
    )
    np.testing.assert_allclose(
        [rows[n].backward_std for n in ("h1", "h2", "add", "out")],
        [g1.std(), g2.std(), g3.std(), r.std()],
        1e-5,
    )


def test_a_single_layer_model_has_one_row():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(1, "sigmoid")])
    model.compile("adam", "binary_crossentropy")
    result = signal_propagation(model, X, Y)
    assert len(result.rows) == 1 and result.healthy
    assert result.rows[0].backward_std is None  # a sigmoid output measured with its loss
