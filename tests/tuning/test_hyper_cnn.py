import pickle

import keras
import keras_tuner as kt
import numpy as np
import pytest

from keras_nnperf.tuning.hyper_cnn import HyperCNN

# The search space of HyperCNN((8, 8, 1), 10, augmentation=True, max_blocks=3), pinned.
EXPECTED_DEFAULTS = {
    "augment": False,
    "flip": "none",
    "rotation_factor": 0.05,
    "translation_factor": 0.1,
    "num_blocks": 2,
    "filters_0": 32,
    "filters_1": 64,
    "filters_2": 128,
    "kernel_size": 3,
    "convs_per_block": 1,
    "batch_norm": True,
    "activation": "relu",
    "kernel_initializer": "for_activation",
    "pooling": "max",
    "residual": False,
    "head": "flatten",
    "head_units": 128,
    "dropout": 0.25,
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
INACTIVE_BY_DEFAULT = {
    "flip",
    "rotation_factor",
    "translation_factor",
    "filters_2",
    "momentum",
    "nesterov",
    "weight_decay",
    "global_clipnorm",
    "one_cycle_pct_start",
    "plateau_factor",
    "plateau_patience",
}


def test_search_space_names_and_defaults():
    hp = kt.HyperParameters()
    HyperCNN((8, 8, 1), 10, augmentation=True).build(hp)
    assert {p.name: p.default for p in hp.space} == pytest.approx(EXPECTED_DEFAULTS)
    assert set(hp.values) == set(EXPECTED_DEFAULTS) - INACTIVE_BY_DEFAULT


def test_augmentation_is_fixed_off_by_default():
    hp = kt.HyperParameters()
    model = HyperCNN((8, 8, 1), 10).build(hp)
    assert isinstance(hp.space[0], kt.engine.hyperparameters.Fixed)
    assert hp.values["augment"] is False
    assert not any(layer.name.startswith("random_") for layer in model.layers)


def test_fixed_values_build_augmentation_residual_and_three_blocks():
    hp = kt.HyperParameters()
    hp.Fixed("augment", True)
    hp.Fixed("flip", "horizontal")
    hp.Fixed("num_blocks", 3)
    hp.Fixed("residual", True)
    hp.Fixed("pooling", "avg")
    hp.Fixed("head", "global_max")
    model = HyperCNN((8, 8, 1), 10, augmentation=True).build(hp)
    names = [layer.name for layer in model.layers]
    assert {"random_flip", "random_rotation", "random_translation"} <= set(names)
    assert {"conv_0_0", "conv_1_0", "conv_2_0", "projection_0", "residual_2"} <= set(names)
    # 8x8 halves to 4, 2, 1: every block pools once.
    assert isinstance(model.get_layer("pool_2"), keras.layers.AveragePooling2D)
    assert isinstance(model.get_layer("head_global_max"), keras.layers.GlobalMaxPooling2D)
    assert model.output.dtype == "float32"


def test_builds_and_fits_one_epoch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, size=24)
    hypermodel = HyperCNN((8, 8, 1), 3)
    hp = kt.HyperParameters()
    hp.Fixed("num_blocks", 1)
    hp.Fixed("filters_0", 16)
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, x, y, epochs=1, validation_split=0.25, verbose=0)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert hypermodel.objective == "val_accuracy"


def test_default_head_keeps_the_layout_of_small_images():
    # Global pooling of an 8x8 digit's 2x2 map loses where the strokes are; the default head
    # flattens it into a Dense layer, as a hand-built small-image CNN does.
    model = HyperCNN((8, 8, 1), 10).build(kt.HyperParameters())
    assert isinstance(model.get_layer("head_flatten"), keras.layers.Flatten)
    assert model.get_layer("head_dense").units == 128
    assert model.get_layer("dropout").rate == 0.25


def test_fit_starts_the_output_at_the_class_prior():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8, 8, 1)).astype("float32")
    y = np.array([0] * 30 + [1] * 6 + [2] * 4)
    hypermodel = HyperCNN((8, 8, 1), 3)
    hp = kt.HyperParameters()
    hp.Fixed("num_blocks", 1)
    model = hypermodel.build(hp)
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["bias"] = keras.ops.convert_to_numpy(self.model.get_layer("output").bias)

    hypermodel.fit(hp, model, x, y, epochs=1, validation_split=0.25, verbose=0, callbacks=[Probe()])
    # The fit uses all of y (validation rows included) for the prior, as Keras splits after.
    np.testing.assert_allclose(seen["bias"], np.log([30 / 40, 6 / 40, 4 / 40]), rtol=1e-5)


def test_num_classes_may_be_a_numpy_integer():
    template = HyperCNN(input_shape=(8, 8, 1), num_classes=np.int64(10))
    assert template.num_classes == 10 and type(template.num_classes) is int


def test_template_is_picklable():
    copy = pickle.loads(pickle.dumps(HyperCNN((8, 8, 1), 10, activations=["mish", "relu"])))
    assert copy.input_shape == (8, 8, 1) and copy.activations == ["mish", "relu"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": (8, 8), "num_classes": 10}, "input_shape"),
        ({"input_shape": (8, 8, 1), "num_classes": 1}, "num_classes"),
        ({"input_shape": (8, 8, 1), "num_classes": True}, "num_classes"),
        ({"input_shape": (8, 8, 1), "num_classes": 10, "max_blocks": 6}, "max_blocks"),
        ({"input_shape": (8, 8, 1), "num_classes": 10, "activations": ["relu", "tanhh"]}, "tanhh"),
        ({"input_shape": (8, 8, 1), "num_classes": 10, "augmentation": "yes"}, "augmentation"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HyperCNN(**kwargs)
