"""`keras_nnperf.recipe.training`: what the recipe passes on from the LR range test."""

import re
import types
import warnings

import numpy as np

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
