import pickle

import keras
import keras_tuner as kt
import numpy as np
import pytest

from keras_nnperf.initializers.for_activation import for_activation
from keras_nnperf.tuning._building_blocks import ACTIVATIONS
from keras_nnperf.tuning.hyper_mlp import HyperMLP

# The search space of HyperMLP(num_features=4, max_layers=3): every name and default, pinned.
EXPECTED_DEFAULTS = {
    "num_layers": 2,
    "units_0": 128,
    "units_1": 128,
    "units_2": 128,
    "activation": "relu",
    "kernel_initializer": "for_activation",
    "batch_norm": "none",
    "dropout": 0.0,
    "l1": 0.0,
    "l2": 0.0,
    "residual": False,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 1e-4,
    "clip_gradients": False,
    "global_clipnorm": 1.0,
    "lr_schedule": "warmup_cosine",
    "warmup_fraction": 0.05,
    "one_cycle_pct_start": 0.25,
    "plateau_factor": 0.5,
    "plateau_patience": 2,
    "batch_size": 32,
    "early_stopping_patience": 5,
}
# Active with the defaults: no units_2 (num_layers = 2), no SGD / AdamW / clipping / other
# schedules' hyperparameters.
INACTIVE_BY_DEFAULT = {
    "units_2",
    "momentum",
    "nesterov",
    "weight_decay",
    "global_clipnorm",
    "one_cycle_pct_start",
    "plateau_factor",
    "plateau_patience",
}


def _data(task, n=32, features=4):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features)).astype("float32")
    if task == "binary":
        return x, (x[:, 0] > 0).astype("float32")
    if task == "multiclass":
        return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")
    return x, x.sum(axis=1, keepdims=True)


def test_search_space_names_and_defaults():
    hp = kt.HyperParameters()
    HyperMLP(num_features=4, max_layers=3).build(hp)
    assert {p.name: p.default for p in hp.space} == pytest.approx(EXPECTED_DEFAULTS)
    assert set(hp.values) == set(EXPECTED_DEFAULTS) - INACTIVE_BY_DEFAULT


def test_fixed_values_are_honoured_and_activate_their_branches():
    hp = kt.HyperParameters()
    hp.Fixed("num_layers", 3)
    hp.Fixed("activation", "selu")
    hp.Fixed("dropout", 0.2)
    hp.Fixed("optimizer", "sgd")
    model = HyperMLP(num_features=4, max_layers=3).build(hp)
    assert hp.values["num_layers"] == 3 and "units_2" in hp.values
    assert hp.values["momentum"] == 0.9 and hp.values["nesterov"] is True
    assert "weight_decay" not in hp.values
    hidden = [layer for layer in model.layers if layer.name.startswith("dense_")]
    assert len(hidden) == 3
    assert isinstance(hidden[0].kernel_initializer, type(for_activation("selu")))
    assert any(isinstance(layer, keras.layers.AlphaDropout) for layer in model.layers)
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.nesterov


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_builds_and_fits_every_task(task):
    x, y = _data(task)
    hypermodel = HyperMLP(
        num_features=4, task=task, num_classes=3 if task == "multiclass" else None, max_layers=2
    )
    hp = kt.HyperParameters()
    hp.Fixed("residual", True)
    hp.Fixed("batch_norm", "before")
    hp.Fixed("units_1", 32)  # differs from units_0: the residual needs a projection
    model = hypermodel.build(hp)
    assert model.output.dtype == "float32"
    assert "projection_1" in [layer.name for layer in model.layers]
    history = hypermodel.fit(hp, model, x, y, epochs=1, validation_split=0.25, verbose=0)
    expected = {"binary": "val_auc", "multiclass": "val_accuracy", "regression": "val_mae"}[task]
    assert expected in history.history
    assert hypermodel.objective == ("val_loss" if task == "regression" else "val_accuracy")


def test_fit_starts_the_regression_output_at_the_target_mean():
    x, y = _data("regression")
    y = y + 3.0
    hypermodel = HyperMLP(num_features=4, task="regression", max_layers=1)
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    kernel = keras.ops.convert_to_numpy(model.get_layer("output").kernel)
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            output = self.model.get_layer("output")
            seen["bias"] = keras.ops.convert_to_numpy(output.bias)
            seen["kernel"] = keras.ops.convert_to_numpy(output.kernel)

    hypermodel.fit(hp, model, x, y, epochs=1, verbose=0, callbacks=[Probe()])
    np.testing.assert_allclose(seen["bias"], [y.mean()], rtol=1e-5)
    np.testing.assert_allclose(seen["kernel"], 0.01 * kernel, rtol=1e-5)


def test_start_at_baseline_can_be_turned_off():
    x, y = _data("binary")
    hypermodel = HyperMLP(num_features=4, max_layers=1, start_at_baseline=False)
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["bias"] = keras.ops.convert_to_numpy(self.model.get_layer("output").bias)

    hypermodel.fit(hp, model, x, y, epochs=1, verbose=0, callbacks=[Probe()])
    np.testing.assert_array_equal(seen["bias"], [0.0])  # Keras's zeros, untouched
    with pytest.raises(ValueError, match="start_at_baseline"):
        HyperMLP(num_features=4, start_at_baseline="yes")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_builds_with_its_initializer(activation):
    hp = kt.HyperParameters()
    hp.Fixed("activation", activation)
    hp.Fixed("num_layers", 1)
    model = HyperMLP(num_features=4, max_layers=1).build(hp)
    assert model(np.zeros((2, 4), "float32")).shape == (2, 1)
    dense = model.get_layer("dense_0")
    assert type(dense.kernel_initializer) is type(for_activation(activation))


def test_searched_initializer_offers_named_initializers():
    hp = kt.HyperParameters()
    HyperMLP(num_features=4, initializer="searched").build(hp)
    space = {p.name: p for p in hp.space}
    assert "he_normal" in space["kernel_initializer"].values


def test_jit_compile_reaches_compile():
    model = HyperMLP(num_features=4, jit_compile=True).build(kt.HyperParameters())
    assert model.jit_compile is True


def test_template_is_picklable():
    hypermodel = HyperMLP(num_features=4, task="multiclass", num_classes=3, activations=["mish"])
    copy = pickle.loads(pickle.dumps(hypermodel))
    assert copy.activations == ["mish"] and copy.num_classes == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_features": 4, "activations": ["relu", "bogus"]}, "bogus"),
        ({"num_features": 4, "optimizers": ["adam", "adagrad"]}, "adagrad"),
        ({"num_features": 4, "task": "ranking"}, "task"),
        ({"num_features": 4, "task": "multiclass"}, "num_classes"),
        ({"num_features": 4, "task": "binary", "num_classes": 3}, "num_classes"),
        ({"num_features": 4, "num_classes": 1}, "num_classes"),
        ({"num_features": 4, "num_classes": True}, "num_classes"),
        ({"num_features": 4, "num_classes": 3.5}, "num_classes"),
        ({"num_features": 4, "max_layers": 11}, "max_layers"),
        ({"num_features": 4, "input_shape": (4,)}, "exactly one"),
        ({}, "exactly one"),
        ({"num_features": 4, "initializer": "zeros"}, "initializer"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HyperMLP(**kwargs)


def test_num_classes_alone_means_multiclass_and_numpy_integers_are_numbers():
    # HyperMLP(num_features=18, num_classes=7) raised "num_classes is only for multiclass".
    template = HyperMLP(num_features=4, num_classes=np.int64(3))
    assert template.task == "multiclass" and template.num_classes == 3
    assert type(template.num_classes) is int
    model = template.build(kt.HyperParameters())
    assert model.output_shape == (None, 3) and "sparse_categorical" in str(model.loss)
    assert HyperMLP(num_features=4).task == "binary"


def test_embedded_code_columns_go_through_a_learned_embedding():
    from keras_nnperf.tabular.embedding import TabularEmbedding

    embeddings = [{"name": "city", "index": 2, "input_dim": 6, "output_dim": 3}]
    template = HyperMLP(num_features=3, task="binary", embeddings=embeddings)
    model = template.build(kt.HyperParameters())
    layer = model.get_layer("embeddings")
    assert isinstance(layer, TabularEmbedding) and layer.categorical_input_columns == [2]
    x = np.array([[0.1, -0.2, 4.0], [0.3, 0.5, 5.0]], dtype="float32")
    # Codes are categories: each code has its own learned vector.
    table = keras.ops.convert_to_numpy(layer.embeddings[0].embeddings)
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out[:, -3:], table[[4, 5]], rtol=1e-6)
    assert model.predict(x, verbose=0).shape == (2, 1)
    with pytest.raises(ValueError, match="embeddings"):
        HyperMLP(num_features=3, task="binary", embeddings=[{"index": 2}])
