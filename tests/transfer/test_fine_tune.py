"""fine_tune: head first with the base frozen, then everything at discriminative rates."""

import sys

import keras
import numpy as np
import pytest

from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names
from keras_nnperf.transfer import even_multipliers, fine_tune, layer_groups, reuse
from keras_nnperf.transfer.fine_tune import best_trial

# The package exports the function under the module's name: take the module itself.
fine_tune_module = sys.modules["keras_nnperf.transfer.fine_tune"]

# Tiny data: lr_find may fall back to its default rate, and says so.
pytestmark = pytest.mark.filterwarnings("ignore:lr_find could not trust")


def _model(dropout=0.1):
    keras.utils.set_random_seed(3)
    pretrained = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", name="a"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dense(8, activation="relu", name="b"),
            keras.layers.Dropout(dropout, name="drop"),
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
        dict(phase_trials=-1),
        dict(phase_trials=True),
        dict(batch_size=48, epochs=2),
    ):
        with pytest.raises(ValueError, match="Argument"):
            fine_tune(model, x, y, base=["a"], **kwargs)
    with pytest.raises(ValueError, match="not in the model"):
        fine_tune(model, x, y, base=["nope"])
    with pytest.raises(ValueError, match="no.* trainable weights|None of the layers"):
        fine_tune(model, x, y, base=["bn"])


def test_best_trial_takes_the_lowest_finite_loss():
    rates = [1.0, 0.3, 0.1]
    assert best_trial(rates, [2.0, 0.5, 0.7]) == 0.3
    assert best_trial(rates, [float("nan"), 0.9, 0.5]) == 0.1
    assert best_trial(rates, [0.5, 0.5, 0.7]) == 1.0  # a tie goes to the rate listed first
    assert best_trial(rates, [float("nan"), float("inf"), float("nan")]) == 0.1


class _StartOfPhase(keras.callbacks.Callback):
    """The head's kernel and the optimizer's step count when each real phase begins."""

    def __init__(self):
        super().__init__()
        self.starts = []

    def on_train_begin(self, logs=None):
        kernel = self.model.get_layer("head").get_weights()[0].copy()
        self.starts.append(
            (kernel, int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)))
        )


def _fake_lr_find(suggestion):
    def fake(model, x, y, batch_size, num_steps):
        class Found:
            pass

        found = Found()
        found.suggestion, found.lrs = suggestion, np.zeros(num_steps)
        return found

    return fake


def test_a_short_phase_takes_its_rate_from_trials_of_itself(monkeypatch):
    # 48 samples, batch 16: 3 steps per epoch, far fewer than the range test's 100 points.
    # An absurd suggestion for Adam (100) must be brought down by the trials.
    monkeypatch.setattr(fine_tune_module, "lr_find", _fake_lr_find(100.0))
    model, x, y = _model()
    start = model.get_layer("head").get_weights()[0].copy()
    spy = _StartOfPhase()
    result = fine_tune(
        model, x, y, base=["a", "b", "c"], epochs=1, freeze_epochs=1, batch_size=16,
        callbacks=[spy], phase_trials=4,
    )  # fmt: skip
    for rate, tried in zip(result.learning_rates, result.phase_trials, strict=True):
        peaks = [peak for peak, _ in tried]
        np.testing.assert_allclose(peaks, [100.0, 100.0 / 10**0.5, 10.0, 10.0 / 10**0.5])
        assert rate == best_trial(peaks, [loss for _, loss in tried])
        assert rate < 100.0
    # The trials left no trace: the first phase starts from the model as it was, at step 0,
    # and the second from where the first ended (3 steps).
    np.testing.assert_array_equal(spy.starts[0][0], start)
    assert [steps for _, steps in spy.starts] == [0, 3]
    assert len(result.history["loss"]) == 2


def test_trial_loss_is_the_loss_after_the_phase_at_that_rate(monkeypatch):
    monkeypatch.setattr(fine_tune_module, "lr_find", _fake_lr_find(0.05))
    # No dropout: `fit` shuffles, so the same masks would fall on other samples in each run.
    model, x, y = _model(dropout=0.0)
    weights = model.get_weights()
    result = fine_tune(
        model, x, y, base=["a", "b", "c"], epochs=3, freeze_epochs=0, batch_size=48,
        phase_trials=2, lr_find_steps=10,
    )  # fmt: skip
    (chosen_loss,) = [
        loss for peak, loss in result.phase_trials[0] if peak == result.learning_rates[0]
    ]
    # Each trial runs the phase with the rate above, from the same start; the phase itself then
    # runs once more at the chosen rate, so the model ends where that trial ended (one full
    # batch per step: the shuffled order changes only the order of a sum).
    after = model.evaluate(x, y, batch_size=48, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(after, chosen_loss, rtol=1e-4)
    assert not np.allclose(model.get_weights()[0], weights[0])


def test_a_long_phase_uses_the_range_test_as_is(monkeypatch):
    monkeypatch.setattr(fine_tune_module, "lr_find", _fake_lr_find(0.01))
    model, x, y = _model()
    result = fine_tune(
        model, x, y, base=["a", "b", "c"], epochs=4, freeze_epochs=1, batch_size=16,
        lr_find_steps=10,
    )  # fmt: skip
    # Head phase: 3 steps < 10, tried; second phase: 12 steps >= 10, the range test's rate.
    assert result.phase_trials[0] is not None and result.phase_trials[1] is None
    assert result.learning_rates[1] == 0.01
