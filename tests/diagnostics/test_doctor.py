import json

import keras
import numpy as np
import pytest
from keras import ops
from sklearn.datasets import load_breast_cancer

from keras_nnperf.diagnostics.doctor import diagnose

_RAW_X, _Y = load_breast_cancer(return_X_y=True)
RAW_X = _RAW_X.astype("float32")
X = ((_RAW_X - _RAW_X.mean(0)) / _RAW_X.std(0)).astype("float32")
Y = _Y.astype("float32")


class BrokenSquare(keras.layers.Layer):
    """`x * w**2` whose custom gradient forgets the factor 2 in d/dw."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        @ops.custom_gradient
        def forward(x, w):
            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return upstream * w * w, ops.sum(upstream * x * w, axis=0)

            return x * w * w, grad

        return forward(x, ops.add(self.w, 0.0))


def _mlp(hidden=(32, 16), activation="relu", init="he_normal", head=None, compile=True, **kw):
    layers = [keras.Input((30,))]
    layers += [keras.layers.Dense(u, activation, kernel_initializer=init) for u in hidden]
    layers += head or [keras.layers.Dense(1, "sigmoid")]
    model = keras.Sequential(layers)
    if compile:
        model.compile(kw.get("optimizer", keras.optimizers.Adam(1e-3)), kw.get("loss", "bce"))
    return model


def _with_nan():
    x = X.copy()
    x[3, 5] = np.nan
    return x


# code -> (model builder, x, y)
PLANTED = {
    "unscaled_inputs": (lambda: _mlp(), RAW_X, Y),
    "non_finite_inputs": (lambda: _mlp(), _with_nan(), Y),
    "constant_init": (lambda: _mlp(init="zeros"), X, Y),
    "saturating_deep_net": (lambda: _mlp((16,) * 6, "sigmoid", "glorot_uniform"), X, Y),
    "vanishing_gradients": (lambda: _mlp((16,) * 6, "sigmoid", "glorot_uniform"), X, Y),
    "relu_glorot_init": (lambda: _mlp((32,) * 10, init="glorot_uniform"), X, Y),
    "dropout_on_output": (
        lambda: _mlp(head=[keras.layers.Dense(1, "sigmoid"), keras.layers.Dropout(0.5)]),
        X,
        Y,
    ),
    "softmax_single_unit": (lambda: _mlp(head=[keras.layers.Dense(1, "softmax")]), X, Y),
    "loss_output_mismatch": (lambda: _mlp(head=[keras.layers.Dense(2, "softmax")]), X, Y),
    "logits_without_from_logits": (lambda: _mlp(head=[keras.layers.Dense(1)]), X, Y),
    "probabilities_as_logits": (
        lambda: _mlp(loss=keras.losses.BinaryCrossentropy(from_logits=True)),
        X,
        Y,
    ),
    "no_regularization": (lambda: _mlp((256, 256)), X[:100], Y[:100]),
    "wrong_gradients": (
        lambda: _mlp(head=[keras.layers.Dense(1), BrokenSquare(), keras.layers.Activation("tanh")]),
        X[:64],
        Y[:64],
    ),
    "not_compiled": (lambda: _mlp(compile=False), X, Y),
}


@pytest.mark.parametrize("code", sorted(PLANTED))
def test_finds_each_planted_mistake(code):
    build, x, y = PLANTED[code]
    # Each check is independent; the float64 gradient check only runs where it is the subject.
    report = diagnose(
        build(), x, y, run_lr_finder=False, run_gradient_check=code == "wrong_gradients"
    )
    assert report.has(code), report


def test_sigmoid_output_with_sparse_categorical_loss():
    model = _mlp(head=[keras.layers.Dense(2, "sigmoid")], loss="sparse_categorical_crossentropy")
    report = diagnose(model, X, Y, run_lr_finder=False, run_gradient_check=False)
    assert report.has("loss_output_mismatch")
    assert report.findings[0].severity == "error"


def test_finds_a_learning_rate_far_from_the_range_test():
    model = _mlp(optimizer=keras.optimizers.Adam(1e-7))
    report = diagnose(model, X, Y, lr_finder_steps=30, run_gradient_check=False)
    assert report.has("lr_far_from_range_test"), report
    assert report.summary["learning_rate"] == pytest.approx(1e-7)


def test_healthy_model_has_no_error_or_warning_and_is_left_untouched():
    model = _mlp()
    model.fit(X[:32], Y[:32], epochs=1, verbose=0)  # an optimizer with state to restore
    weights = [w.copy() for w in model.get_weights()]
    optimizer_state = [np.array(v) for v in model.optimizer.variables]
    report = diagnose(model, X, Y, lr_finder_steps=30)
    assert report.healthy, report
    assert "suggested_lr" in report.summary
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(model.optimizer.variables, optimizer_state, strict=True):
        np.testing.assert_array_equal(np.array(got), want)
    json.dumps(report.to_dict())


def test_deep_relu_glorot_is_only_info_when_signal_is_fine():
    model = _mlp((32,) * 5, init="glorot_uniform")
    report = diagnose(model, X, Y, run_lr_finder=False, run_gradient_check=False)
    relu_glorot = [f for f in report.findings if f.code == "relu_glorot_init"]
    assert [f.severity for f in relu_glorot] == ["info"]


def test_unscaled_inputs_names_the_columns():
    x = X.copy()
    x[:, 4] = x[:, 4] * 1000.0
    x[:, 7] = x[:, 7] + 50.0
    report = diagnose(_mlp(), x, Y, run_lr_finder=False, run_gradient_check=False)
    (finding,) = [f for f in report.findings if f.code == "unscaled_inputs"]
    assert finding.evidence["columns"] == [4, 7]


def test_rejects_bad_arguments():
    model = _mlp()
    for kwargs in ({"lr_finder_steps": 2}, {"batch_size": 0}, {"sample_size": 0}):
        with pytest.raises(ValueError, match="Received"):
            diagnose(model, X, Y, **kwargs)
    with pytest.raises(ValueError, match="same number of samples"):
        diagnose(model, X, Y[:10])
