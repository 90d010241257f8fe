import keras
import numpy as np
import pytest

from keras_nnperf.initializers import baseline_prediction, initialize_at_baseline

RNG = np.random.default_rng(0)
X = RNG.normal(size=(400, 10)).astype("float32")
_SIGNAL = X[:, 0] * 2 + X[:, 1] ** 2
Y_REGRESSION = ((_SIGNAL - _SIGNAL.mean()) / _SIGNAL.std()).astype("float32")
Y_BINARY = (X[:, 0] + 0.5 * RNG.normal(size=400) > 0.6).astype("float32")
Y_CLASSES = np.digitize(X[:, 0], [-1.0, 0.0, 0.5, 1.5])  # 5 classes, unequal frequencies


def _mlp(head, loss, width=64):
    keras.utils.set_random_seed(0)
    hidden = [keras.layers.Dense(width, "relu") for _ in range(2)]
    model = keras.Sequential([keras.Input((10,)), *hidden, *head])
    model.compile("adam", loss)
    return model


# Heads are built per test (a layer instance belongs to one model).
# Independent references: the loss of the best constant prediction, written out in NumPy.
def _binary_entropy(y):
    p = y.mean(axis=0)
    return float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))


def _prior_entropy(labels, classes):
    p = np.bincount(labels, minlength=classes) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


CASES = {
    "regression_mse": (
        lambda: [keras.layers.Dense(1)],
        "mse",
        Y_REGRESSION,
        float(np.mean((Y_REGRESSION - Y_REGRESSION.mean()) ** 2)),
    ),
    "regression_mae_uses_the_median": (
        lambda: [keras.layers.Dense(1)],
        "mae",
        Y_REGRESSION,
        float(np.mean(np.abs(Y_REGRESSION - np.median(Y_REGRESSION)))),
    ),
    "binary_sigmoid": (
        lambda: [keras.layers.Dense(1, "sigmoid")],
        "binary_crossentropy",
        Y_BINARY,
        _binary_entropy(Y_BINARY),
    ),
    "binary_logits": (
        lambda: [keras.layers.Dense(1)],
        keras.losses.BinaryCrossentropy(from_logits=True),
        Y_BINARY,
        _binary_entropy(Y_BINARY),
    ),
    "multiclass_softmax": (
        lambda: [keras.layers.Dense(5, "softmax")],
        "sparse_categorical_crossentropy",
        Y_CLASSES,
        _prior_entropy(Y_CLASSES, 5),
    ),
    "multiclass_softmax_layer_one_hot": (
        lambda: [keras.layers.Dense(5), keras.layers.Softmax()],
        "categorical_crossentropy",
        np.eye(5, dtype="float32")[Y_CLASSES],
        _prior_entropy(Y_CLASSES, 5),
    ),
    "multiclass_logits": (
        lambda: [keras.layers.Dense(5)],
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        Y_CLASSES,
        _prior_entropy(Y_CLASSES, 5),
    ),
    "multilabel_sigmoid": (
        lambda: [keras.layers.Dense(3, "sigmoid")],
        "binary_crossentropy",
        np.stack([Y_BINARY, 1 - Y_BINARY, (X[:, 2] > 1).astype("float32")], axis=1),
        _binary_entropy(
            np.stack([Y_BINARY, 1 - Y_BINARY, (X[:, 2] > 1).astype("float32")], axis=1)
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_first_loss_equals_the_trivial_baseline(case):
    head, loss, y, baseline = CASES[case]
    model = _mlp(head(), loss)
    before = model.evaluate(X, y, verbose=0)
    initialize_at_baseline(model, y)
    after = model.evaluate(X, y, verbose=0)
    # The kernel is only scaled, not zeroed: the loss sits O(0.01^2) above the baseline.
    assert after == pytest.approx(baseline, rel=2e-3, abs=1e-3)
    assert after < before


def test_a_head_far_off_the_baseline_is_brought_to_it():
    head = keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0))
    model = _mlp([head], "mse")
    assert model.evaluate(X, Y_REGRESSION, verbose=0) > 2.0
    initialize_at_baseline(model, Y_REGRESSION)
    # ReLU outputs are positive, so the scaled kernel still shifts the prediction a little.
    assert model.evaluate(X, Y_REGRESSION, verbose=0) == pytest.approx(1.0, abs=1e-2)


def test_sets_the_formula_values_and_scales_the_kernel():
    model = _mlp([keras.layers.Dense(5, "softmax")], "sparse_categorical_crossentropy")
    head = model.layers[-1]
    kernel = np.array(head.kernel)
    result = initialize_at_baseline(model, Y_CLASSES, kernel_scale=0.05)
    prior = np.bincount(Y_CLASSES, minlength=5) / len(Y_CLASSES)
    np.testing.assert_allclose(np.array(head.bias), np.log(prior), rtol=1e-6)
    np.testing.assert_allclose(np.array(head.kernel), kernel * 0.05, rtol=1e-6)
    np.testing.assert_allclose(result.prediction, prior, rtol=1e-6)
    assert (result.task, result.activation, result.layer) == ("multiclass", "softmax", head.name)
    assert "softmax head" in str(result)


def test_sigmoid_bias_is_the_logit_of_the_positive_rate():
    model = _mlp([keras.layers.Dense(1, "sigmoid")], "binary_crossentropy")
    initialize_at_baseline(model, Y_BINARY)
    rate = Y_BINARY.mean()
    np.testing.assert_allclose(np.array(model.layers[-1].bias), [np.log(rate / (1 - rate))], 1e-5)


def test_an_absent_class_gets_a_finite_bias():
    model = _mlp([keras.layers.Dense(6, "softmax")], "sparse_categorical_crossentropy")
    initialize_at_baseline(model, Y_CLASSES)  # class 5 never occurs
    bias = np.array(model.layers[-1].bias)
    assert np.isfinite(bias).all() and bias[5] == pytest.approx(np.log(1e-7), rel=1e-5)


def test_linear_head_before_compile_is_regression_unless_told():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(2)])
    assert baseline_prediction(model, np.zeros((4, 2)) + [1.0, 3.0])[1] == "regression"
    activation, task, bias = baseline_prediction(model, [0, 1, 1, 1], task="multiclass")
    assert (activation, task) == ("linear", "multiclass")
    np.testing.assert_allclose(bias, np.log([0.25, 0.75]))


@pytest.mark.parametrize(
    "head, y, message",
    [
        (lambda: [keras.layers.Dense(1, "tanh")], Y_REGRESSION, "sigmoid, softmax and linear"),
        (lambda: [keras.layers.Dense(1, "relu")], Y_REGRESSION, "Received: an output layer"),
        (
            lambda: [keras.layers.Dense(1), keras.layers.ReLU()],
            Y_REGRESSION,
            "changes its prediction",
        ),
        (lambda: [keras.layers.Dense(1, use_bias=False)], Y_REGRESSION, "with a bias"),
        (lambda: [keras.layers.Dense(1, "sigmoid")], Y_REGRESSION * 3, r"in \[0, 1\]"),
        (lambda: [keras.layers.Dense(3, "softmax")], Y_CLASSES, r"lie in \[0, 2\]"),
        (lambda: [keras.layers.Dense(1, "softmax")], np.zeros(400), "at least 2 units"),
        (lambda: [keras.layers.Dense(2)], Y_REGRESSION, "one column per output unit"),
    ],
)
def test_refuses_heads_and_targets_it_cannot_handle(head, y, message):
    model = _mlp(head(), "mse")
    with pytest.raises(ValueError, match=message):
        initialize_at_baseline(model, y)


def test_refuses_bad_arguments():
    model = _mlp([keras.layers.Dense(1)], "mse")
    for scale in (0, 0.0, 1.5, -0.1, float("nan"), True, "0.01"):
        with pytest.raises(ValueError, match="Received"):
            initialize_at_baseline(model, Y_REGRESSION, kernel_scale=scale)
    initialize_at_baseline(model, Y_REGRESSION, kernel_scale=np.float32(0.5))  # NumPy scalar
    with pytest.raises(ValueError, match="task"):
        initialize_at_baseline(model, Y_REGRESSION, task="ranking")
    with pytest.raises(ValueError, match="predicts binary"):
        sigmoid = _mlp([keras.layers.Dense(1, "sigmoid")], "binary_crossentropy")
        initialize_at_baseline(sigmoid, Y_BINARY, task="multiclass")
    with pytest.raises(ValueError, match="finite"):
        initialize_at_baseline(model, np.full(400, np.nan))
    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="must be built"):
        initialize_at_baseline(unbuilt, Y_REGRESSION)


def test_refuses_several_outputs():
    inputs = keras.Input((10,))
    model = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
    with pytest.raises(ValueError, match="one output"):
        initialize_at_baseline(model, Y_REGRESSION)


def test_saved_model_keeps_the_baseline_start(tmp_path):
    model = _mlp([keras.layers.Dense(1, "sigmoid")], "binary_crossentropy")
    initialize_at_baseline(model, Y_BINARY)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), 1e-6)
