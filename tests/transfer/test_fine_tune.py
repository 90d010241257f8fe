"""fine_tune: head first with the base frozen, then everything at discriminative rates."""

import keras
import numpy as np
import pytest

from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names
from keras_nnperf.transfer import even_multipliers, fine_tune, layer_groups, reuse

# Tiny data: lr_find may fall back to its default rate, and says so.
pytestmark = pytest.mark.filterwarnings("ignore:lr_find could not trust")


def _model():
    keras.utils.set_random_seed(3)
    pretrained = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", name="a"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dense(8, activation="relu", name="b"),
            keras.layers.Dropout(0.1, name="drop"),
            keras.layers.Dense(8, activation="relu", name="c"),
            keras.layers.Dense(4, activation="softmax", name="out"),
        ]
    )
    model = reuse(pretrained, head=3)
    model.compile(
        keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype("float32")
    return model, x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0)


class _BaseWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.kernels = []

    def on_epoch_end(self, epoch, logs=None):
        self.kernels.append(self.model.get_layer("a").get_weights()[0].copy())


def test_head_first_then_everything():
    model, x, y = _model()
    start = model.get_layer("a").get_weights()[0].copy()
    spy = _BaseWeights()
    result = fine_tune(
        model,
        x,
        y,
        base=["a", "bn", "b", "drop", "c"],
        epochs=2,
        freeze_epochs=1,
        batch_size=16,
        validation_data=(x, y),
        callbacks=[spy],
        lr_find_steps=10,
    )
    assert result.groups == [["a"], ["b"], ["c"]]
    np.testing.assert_allclose(result.multipliers, [0.01, 0.01 ** (2 / 3), 0.01 ** (1 / 3)])
    assert len(result.learning_rates) == 2 and all(r > 0 for r in result.learning_rates)
    assert len(result.history["val_accuracy"]) == 3
    np.testing.assert_array_equal(spy.kernels[0], start)  # phase 1: base frozen
    assert not np.array_equal(spy.kernels[-1], start)  # phase 2: base trains
    assert gradient_hook_names(model.optimizer) == []
    assert not [v for v in model.optimizer.variables if "multiplier" in v.path]


class _FirstRates(keras.callbacks.Callback):
    """The rate each `fit` applies at its first step (1Cycle's start: peak / div_factor)."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_begin(self, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


@pytest.mark.parametrize("div_factor", [5.0, 2.0])
def test_each_phase_starts_at_its_peak_over_div(div_factor):
    model, x, y = _model()
    spy = _FirstRates()
    result = fine_tune(
        model,
        x,
        y,
        base=["a", "b", "c"],
        epochs=2,
        freeze_epochs=1,
        div_factor=div_factor,
        batch_size=16,
        callbacks=[spy],
        lr_find_steps=10,
    )
    head, everything = result.learning_rates
    # Phase 1 keeps 1Cycle's div 25 (fastai's fit_one_cycle); phase 2 uses div_factor.
    np.testing.assert_allclose(spy.rates, [head / 25.0, everything / div_factor], rtol=1e-5)


def test_freeze_epochs_zero_and_helpers():
    model, x, y = _model()
    result = fine_tune(
        model, x, y, base="a", epochs=1, freeze_epochs=0, batch_size=16, lr_find_steps=10
    )
    assert len(result.histories) == 1 and result.groups == [["a"]]
    assert layer_groups(model, ["a", "bn", "b", "c"], 2) == [["a", "b"], ["c"]]
    assert even_multipliers(2, 0.01) == pytest.approx([0.01, 0.1])


def test_bad_arguments():
    model, x, y = _model()
    for kwargs in (
        dict(epochs=0),
        dict(freeze_epochs=-1),
        dict(lr_mult=0.5),
        dict(pct_start=1.0),
        dict(div_factor=0.0),
        dict(div_factor=float("nan")),
        dict(num_groups=0),
        dict(lr_find_steps=2),
        dict(batch_size=48, epochs=2),
    ):
        with pytest.raises(ValueError, match="Argument"):
            fine_tune(model, x, y, base=["a"], **kwargs)
    with pytest.raises(ValueError, match="not in the model"):
        fine_tune(model, x, y, base=["nope"])
    with pytest.raises(ValueError, match="no.* trainable weights|None of the layers"):
        fine_tune(model, x, y, base=["bn"])
