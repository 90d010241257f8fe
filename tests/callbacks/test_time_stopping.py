import copy
import time

import keras
import numpy as np
import pytest

from keras_nnperf.callbacks.time_stopping import TimeStopping


class _SlowEpochs(keras.callbacks.Callback):
    """Makes every batch take a known amount of wall-clock time."""

    def __init__(self, seconds_per_batch):
        super().__init__()
        self.seconds_per_batch = seconds_per_batch

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds_per_batch)


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 3)).astype("float32"), rng.normal(size=(40, 1)).astype("float32")


def test_stops_between_epochs_once_the_budget_is_spent():
    x, y = _data()
    stopper = TimeStopping(seconds=0.25)
    history = _model().fit(
        x, y, batch_size=10, epochs=50, verbose=0, callbacks=[_SlowEpochs(0.05), stopper]
    )
    # Each epoch takes >= 0.2 s, so the budget ends training after the 2nd epoch at the latest.
    assert 1 <= len(history.history["loss"]) <= 3
    assert stopper.stopped_epoch == len(history.history["loss"]) - 1


def test_batch_granularity_stops_inside_the_first_epoch():
    x, y = _data()
    seen = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    stopper = TimeStopping(seconds=0.1, granularity="batch")
    _model().fit(
        x, y, batch_size=2, epochs=5, verbose=0, callbacks=[_SlowEpochs(0.05), stopper, counter]
    )
    assert stopper.stopped_epoch == 0
    assert len(seen) < 20  # one epoch is 20 batches


def test_generous_budget_never_stops_and_a_copy_starts_a_fresh_clock():
    x, y = _data()
    stopper = copy.deepcopy(TimeStopping(seconds=3600))
    history = _model().fit(x, y, epochs=3, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 3
    assert stopper.stopped_epoch is None


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"seconds": 0}, "seconds"),
        ({"seconds": -5}, "seconds"),
        ({"granularity": "step"}, "granularity"),
        ({"seconds": float("nan")}, "seconds"),
        ({"seconds": float("inf")}, "seconds"),
        ({"seconds": True}, "seconds"),
        ({"verbose": 2}, "verbose"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Argument {name} "):
        TimeStopping(**kwargs)


def test_numpy_scalars_are_numbers():
    assert TimeStopping(seconds=np.int64(60)).seconds == 60.0
    assert type(TimeStopping(seconds=np.float32(1.5)).seconds) is float
