import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_nnperf.callbacks.lr_finder import LRFinder, last_lr_find, lr_find
from keras_nnperf.callbacks.lr_finder_result import (
    LRFinderResult,
    minimum_over_ten,
    steepest,
    valley,
)
from keras_nnperf.schedules import CosineDecay

matplotlib.use("Agg")


def classification(n=480, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10)).astype("float32")
    logits = x @ rng.normal(size=(10, 3))
    return x, logits.argmax(axis=1)


def make_model(learning_rate=1e-3):
    model = keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)]
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(learning_rate), loss=loss)
    return model


def snapshot(model):
    return [w.copy() for w in model.get_weights()], [
        np.array(ops.convert_to_numpy(v)) for v in model.optimizer.variables
    ]


@pytest.mark.parametrize("learning_rate", [1e-3, CosineDecay(1e-3, 100)])
def test_restores_weights_and_optimizer_bit_identically(learning_rate):
    x, y = classification()
    model = make_model(learning_rate)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # Adam moments and iterations are non-zero
    held = model.optimizer._learning_rate
    weights, variables = snapshot(model)
    result = lr_find(model, x, y, num_steps=20)
    after_weights, after_variables = snapshot(model)
    assert all(np.array_equal(a, b) for a, b in zip(weights, after_weights, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(variables, after_variables, strict=True))
    assert model.optimizer._learning_rate is held
    assert last_lr_find(model) is result
    assert len(result.lrs) == len(result.losses) == len(result.raw_losses) <= 20
    assert set(result.suggestions) == {"steepest", "minimum/10", "valley"}


def test_stops_on_divergence_and_takes_datasets():
    x, y = classification()
    model = make_model()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)  # 15 batches, repeated
    result = lr_find(model, dataset, num_steps=60, min_lr=1e-4, max_lr=1e4)
    assert len(result.lrs) < 60
    np.testing.assert_allclose(result.lrs[0], 1e-4, rtol=1e-6)
    assert np.all(np.diff(result.lrs) > 0)


def test_smoothing_matches_fastai():
    x, y = classification()
    finder = LRFinder(num_steps=10, smoothing=0.9, max_lr=1e-3)
    make_model().fit(
        x, y, batch_size=32, epochs=1, steps_per_epoch=10, verbose=0, callbacks=[finder]
    )
    raw = finder.result.raw_losses
    average, expected = 0.0, []
    for i, loss in enumerate(raw):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(finder.result.losses, expected, rtol=1e-6)
    np.testing.assert_allclose(finder.result.lrs, finder.learning_rate_at(np.arange(10)), rtol=1e-6)


def test_suggestion_is_close_to_the_best_of_a_grid():
    x, y = classification(n=640)
    result = lr_find(make_model(), x, y, batch_size=32, num_steps=60, min_lr=1e-5, max_lr=10.0)
    grid = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
    final = []
    for learning_rate in grid:
        keras.utils.set_random_seed(1234)
        model = make_model(learning_rate)
        final.append(model.fit(x, y, batch_size=32, epochs=2, verbose=0).history["loss"][-1])
    best = grid[int(np.argmin(final))]
    losses = dict(zip(grid, final, strict=True))
    assert best / 3 <= result.suggestion <= best * 3, (result.suggestions, losses)


def test_rules_on_a_known_curve():
    lrs = np.logspace(-4, 0, 41)
    losses = 2.0 - np.tanh(np.log10(lrs) + 2.0)  # steepest at 1e-2
    losses[35:] += np.linspace(0, 5, 6)  # divergence at the end
    assert steepest(lrs, losses) == pytest.approx(1e-2)
    assert minimum_over_ten(lrs, losses) == pytest.approx(lrs[int(np.argmin(losses))] / 10)
    assert 1e-3 < valley(lrs, losses) < lrs[int(np.argmin(losses))]


def test_plot_marks_the_suggestion():
    lrs = np.logspace(-4, 0, 20)
    result = LRFinderResult(lrs=lrs, losses=1 / (1 + lrs), raw_losses=1 / (1 + lrs), rule="valley")
    figure = result.plot()
    lines = figure.axes[0].lines
    marks = [line.get_xdata() for line in lines if len(line.get_xdata()) == 2]
    assert any(np.allclose(xdata, result.suggestion) for xdata in marks)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"min_lr": 0}, "min_lr"),
        ({"max_lr": 1e-8}, "max_lr"),
        ({"num_steps": 2}, "num_steps"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"stop_factor": 1.0}, "stop_factor"),
        ({"suggestion": "best"}, "suggestion"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LRFinder(**kwargs)
    x, y = classification(n=32)
    with pytest.raises(ValueError, match=name):
        lr_find(make_model(), x, y, **kwargs)


def test_bad_model_and_inputs():
    x, y = classification(n=32)
    with pytest.raises(ValueError, match="compiled"):
        lr_find(keras.Sequential([keras.Input((10,)), keras.layers.Dense(3)]), x, y)
    with pytest.raises(ValueError, match="batch_size"):
        lr_find(make_model(), x, y, batch_size=0)
    with pytest.raises(ValueError, match="y"):
        lr_find(make_model(), tf.data.Dataset.from_tensor_slices((x, y)).batch(8), y)
