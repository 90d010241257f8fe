"""`keras_nnperf.recipe.training`: what the recipe passes on from the LR range test."""

import re
import types
import warnings

import keras
import numpy as np
import pytest

from keras_nnperf.callbacks import lr_finder
from keras_nnperf.recipe import training
from keras_nnperf.tabular import TabularData


def _fake_lr_find(model, x, y, batch_size, num_steps):
    # A library's DeprecationWarning from inside its own module, and lr_find's fallback warning.
    warnings.warn_explicit(
        "__array__ implementation doesn't accept a copy keyword",
        DeprecationWarning,
        "/site-packages/keras/src/backend/tensorflow/core.py",
        172,
    )
    warnings.warn("the range test fell back to 1e-3", UserWarning)
    return types.SimpleNamespace(suggestion=1e-3, rule="fallback", reason="flat curve")


def test_foreign_warnings_keep_their_origin_and_the_fallback_is_a_recipe_warning(monkeypatch):
    monkeypatch.setattr(lr_finder, "lr_find", _fake_lr_find)
    data = TabularData(np.zeros((4, 2)), np.zeros(4), np.zeros((4, 2)), np.zeros(4), None)
    with warnings.catch_warnings(record=True) as caught:
        # Python's default filters: deprecations are shown only when raised by __main__, here
        # this module, which stands for the user's notebook.
        warnings.resetwarnings()
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("default", category=DeprecationWarning, module=re.escape(__name__))
        warnings.filterwarnings("always", category=UserWarning)
        choice = training.choose_learning_rate(None, data, 32)
    assert choice.rate == 1e-3 and choice.rule == "fallback"
    assert [w.category for w in caught] == [training.RecipeWarning]
    assert caught[0].filename == __file__  # the caller's line, as a recipe warning should be


def test_foreign_warnings_still_reach_filters_that_want_them(monkeypatch):
    monkeypatch.setattr(lr_finder, "lr_find", _fake_lr_find)
    data = TabularData(np.zeros((4, 2)), np.zeros(4), np.zeros((4, 2)), np.zeros(4), None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        training.choose_learning_rate(None, data, 32)
    assert [w.category for w in caught] == [DeprecationWarning, training.RecipeWarning]
    assert caught[0].filename.endswith("tensorflow/core.py") and caught[0].lineno == 172


def test_a_warning_repeated_inside_one_range_test_is_shown_once_under_default_filters(
    monkeypatch,
):
    def repeating(model, x, y, batch_size, num_steps):
        for _ in range(5):  # one per variable converted, say
            warnings.warn_explicit("copy keyword", DeprecationWarning, "/keras/core.py", 172)
        return types.SimpleNamespace(suggestion=1e-3, rule="consensus", reason="")

    monkeypatch.setattr(lr_finder, "lr_find", repeating)
    monkeypatch.setattr(training, "_PASSED_ON", {})
    data = TabularData(np.zeros((4, 2)), np.zeros(4), np.zeros((4, 2)), np.zeros(4), None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        training.choose_learning_rate(None, data, 32)
    assert len(caught) == 1


def _noise(seed=0, n=64):
    rng = np.random.default_rng(seed)
    x, x_val = rng.normal(size=(2, n, 4)).astype("float32")
    y, y_val = rng.normal(size=(2, n)).astype("float32")
    return TabularData(x, y, x_val, y_val, None)


def test_the_constant_output_is_the_trivial_baseline_and_leaves_the_weights():
    from keras_nnperf.recipe.model import build_model

    data = _noise()
    model = build_model(4, "regression", seed=0, y_train=data.y_train)
    before = model.get_weights()
    loss = training.ConstantOutput(model).validation_loss(data, batch_size=32)
    # The mean squared error of predicting the training mean, computed apart from Keras.
    expected = np.mean((data.y_val - data.y_train.mean()) ** 2)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_recipe_hands_back_the_trivial_baseline_when_no_epoch_beats_it():
    from keras_nnperf.recipe.model import build_model

    # A target of pure noise at a rate far too high: every epoch is worse than the mean.
    data = _noise()
    model = build_model(4, "regression", seed=0, y_train=data.y_train)
    run = training.train_with_recipe(model, data, 4, 16, learning_rate=1.0, verbose=0)
    stopper = run.callbacks["early_stopping"]
    assert stopper.best_epoch == -1
    assert min(run.history["val_loss"]) > stopper.start_value
    predicted = np.asarray(model.predict(data.x_val, verbose=0)).reshape(-1)
    np.testing.assert_allclose(predicted, data.y_train.mean(), rtol=1e-5, atol=1e-6)
    # A learnable target keeps an epoch's weights, as before.
    data = _noise(1)
    data.y_train[:], data.y_val[:] = data.x_train[:, 0], data.x_val[:, 0]
    model = build_model(4, "regression", seed=0, y_train=data.y_train)
    run = training.train_with_recipe(model, data, 4, 16, learning_rate=0.01, verbose=0)
    assert run.callbacks["early_stopping"].best_epoch >= 0


class _CtrlC(keras.callbacks.Callback):
    """Ctrl-C between steps: before batch `batch` of epoch `epoch` (0-based)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch, self.weights = (epoch, batch), None, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.weights = self.model.get_weights()
            raise KeyboardInterrupt


def _learnable(seed=1):
    data = _noise(seed)
    data.y_train[:], data.y_val[:] = data.x_train[:, 0], data.x_val[:, 0]
    return data


def test_ctrl_c_after_an_epoch_keeps_the_best_epoch_so_far_and_leaves_no_hooks():
    from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names
    from keras_nnperf.recipe.model import build_model

    data = _learnable()
    model = build_model(4, "regression", seed=0, y_train=data.y_train)
    # Epoch 4, after its first step moved the weights away from every epoch's end.
    ctrl_c = _CtrlC(epoch=3, batch=1)
    run = training.train_with_recipe(
        model, data, 8, 16, 0.01, verbose=0, callbacks=[ctrl_c], keep_on_interrupt=True
    )
    stopper = run.callbacks["early_stopping"]
    assert run.interrupted and stopper.stop_reason == "interrupted"
    assert len(run.history["loss"]) == 3 and 0 <= stopper.best_epoch <= 2
    assert run.steps == 3 * 4
    for got, best in zip(model.get_weights(), stopper.best_weights, strict=True):
        np.testing.assert_array_equal(got, best)
    assert any(
        not np.array_equal(b, w) for b, w in zip(stopper.best_weights, ctrl_c.weights, strict=True)
    )
    # The callbacks' hooks are gone, as after a run that ended normally, and the recorder kept
    # the rates of the 13 steps run (then NaN).
    assert gradient_hook_names(model.optimizer) == []
    rates = run.callbacks["schedule"].learning_rates
    assert np.isfinite(rates[:13]).all() and np.isnan(rates[13:]).all()
    # A plain fit afterwards trains as on any model.
    model.fit(data.x_train, data.y_train, epochs=1, verbose=0)


def test_ctrl_c_propagates_before_the_first_epoch_ends_or_unless_asked_to_keep():
    from keras_nnperf.recipe.model import build_model

    data = _learnable()
    for at, keep in (((0, 2), True), ((2, 1), False)):
        model = build_model(4, "regression", seed=0, y_train=data.y_train)
        with pytest.raises(KeyboardInterrupt):
            training.train_with_recipe(
                model, data, 4, 16, 0.01, verbose=0, callbacks=[_CtrlC(*at)], keep_on_interrupt=keep
            )


def test_the_default_ensemble_is_three_networks_up_to_1500_training_rows():
    from keras_nnperf.recipe.training import default_ensemble

    assert [default_ensemble(n) for n in (1, 1500, 1501, 50_000)] == [3, 3, 1, 1]
