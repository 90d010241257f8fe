"""fit_guard: cleanups run when fit ends by an exception, wherever raised, on every backend."""

import keras
import numpy as np
import pytest

from keras_nnperf.optimizers import fit_guard
from keras_nnperf.optimizers.fit_guard import guard_fit, guarded_keys, unguard_fit

BACKEND = keras.backend.backend()


class Boom(Exception):
    pass


class Guarded(keras.callbacks.Callback):
    """Registers a cleanup like our callbacks do, and records what ran."""

    def __init__(self, log, stale=True):
        super().__init__()
        self.log = log
        self.stale = stale

    def on_train_begin(self, logs=None):
        self.log.append("begin")
        guard_fit(self.model, "guarded", lambda: self.log.append("cleanup"), stale=self.stale)

    def on_train_end(self, logs=None):
        self.log.append("end")
        unguard_fit(self.model, "guarded")


class RaiseAt(keras.callbacks.Callback):
    def __init__(self, where, at=1):
        super().__init__()
        self.where, self.at, self.calls = where, at, 0

    def _maybe(self, where):
        if where == self.where:
            self.calls += 1
            if self.calls == self.at:
                raise Boom(where)

    def on_epoch_end(self, epoch, logs=None):
        self._maybe("on_epoch_end")

    def on_train_batch_end(self, batch, logs=None):
        self._maybe("on_train_batch_end")


class RaisingLayer(keras.layers.Layer):
    """Identity that raises from inside the step (eager, so on a chosen step on every backend)."""

    def __init__(self, at_call, error=Boom, **kwargs):
        super().__init__(**kwargs)
        self.at_call, self.error, self.calls = at_call, error, 0

    def call(self, x, training=None):
        if training:
            self.calls += 1
            if self.calls == self.at_call:
                raise self.error("in the step")
        return x


def _data(n=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _model(*layers, run_eagerly=False):
    model = keras.Sequential([keras.Input((4,)), *layers, keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=run_eagerly)
    return model


def test_normal_fit_runs_no_cleanup_and_leaves_no_guard():
    log = []
    model = _model()
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Guarded(log)])
    assert log == ["begin", "end"]
    assert guarded_keys(model) == []


def test_exception_in_the_step_runs_cleanup_at_once():
    log = []
    model = _model(RaisingLayer(at_call=3), run_eagerly=True)
    x, y = _data()
    with pytest.raises(Boom):
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Guarded(log, stale=False)])
    assert log == ["begin", "cleanup"]
    assert guarded_keys(model) == []


def test_keyboard_interrupt_in_the_step_runs_cleanup_and_propagates():
    log = []
    model = _model(RaisingLayer(at_call=2, error=KeyboardInterrupt), run_eagerly=True)
    x, y = _data()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[Guarded(log, stale=False)])
    assert log == ["begin", "cleanup"]


@pytest.mark.parametrize("where", ["on_epoch_end", "on_train_batch_end"])
def test_exception_in_another_callback_is_cleaned_at_the_next_fit(where):
    log = []
    model = _model()
    x, y = _data()
    with pytest.raises(Boom):
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Guarded(log), RaiseAt(where)])
    assert log == ["begin"] and guarded_keys(model) == ["guarded"]

    seen_at_first_step = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if not seen_at_first_step:
                seen_at_first_step.append(list(log))

    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[Probe()])
    assert seen_at_first_step == [["begin", "cleanup"]]  # before the next fit's first step
    assert guarded_keys(model) == []


def test_stale_false_cleanup_is_dropped_when_noticed_late():
    log = []
    model = _model()
    x, y = _data()
    with pytest.raises(Boom):
        model.fit(
            x, y, batch_size=8, epochs=1, verbose=0,
            callbacks=[Guarded(log, stale=False), RaiseAt("on_epoch_end")],
        )  # fmt: skip
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert log == ["begin"]
    assert guarded_keys(model) == []


def test_data_generator_raising():
    log = []
    model = _model()
    x, y = _data()

    def batches():
        for index in range(3):
            yield x[index * 8 : (index + 1) * 8], y[index * 8 : (index + 1) * 8]
        raise Boom("in data")

    with pytest.raises(Exception, match="in data"):
        model.fit(batches(), epochs=1, verbose=0, callbacks=[Guarded(log, stale=False)])
    if BACKEND in ("tensorflow", "jax"):
        # Their train functions take the iterator and fetch the batch inside: noticed at once.
        assert log == ["begin", "cleanup"]
    else:
        # PyTorch fetches the batch between steps: noticed at the next fit (stale=False: dropped).
        assert log == ["begin"]
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert guarded_keys(model) == []


def test_end_of_data_is_not_a_failure():
    # A generator of unknown length ends each epoch with StopIteration / OutOfRangeError.
    log = []
    model = _model()
    x, y = _data()

    def batches():
        for index in range(4):
            yield x[index * 8 : (index + 1) * 8], y[index * 8 : (index + 1) * 8]

    model.fit(batches(), epochs=1, verbose=0, callbacks=[Guarded(log)])
    assert log == ["begin", "end"]


def test_failing_cleanup_warns_and_the_others_still_run():
    model = _model()
    log = []
    guard_fit(model, "a", lambda: log.append("a"))
    guard_fit(model, "b", lambda: 1 / 0)
    guard_fit(model, "c", lambda: log.append("c"))
    with pytest.warns(RuntimeWarning, match="'b'"):
        fit_guard.run_cleanups(model, stale=False)
    assert log == ["c", "a"]  # newest first


def test_bad_arguments():
    model = _model()
    with pytest.raises(ValueError, match="key"):
        guard_fit(model, "", lambda: None)
    with pytest.raises(ValueError, match="cleanup"):
        guard_fit(model, "k", 3)


def test_keras_calls_make_train_function_before_on_train_begin_and_the_step_per_batch():
    # The contract fit_guard relies on (it shadows make_train_function / make_test_function):
    # fails if a Keras release stops calling them at the start of fit and evaluate.
    model = _model()
    x, y = _data()
    fit_guard.intercept_step_functions(model)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # made and traced through the shadow
    step = fit_guard.step_function(model)
    assert step is not None
    calls = []
    original = step.function

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    step.function = counting
    seen = []

    class Check(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(fit_guard.step_function(self.model) is step)

    guard_fit(model, "stale", lambda: seen.append("stale ran"))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[Check()])
    assert seen == ["stale ran", True]  # cleanup before on_train_begin, same wrapped function
    assert len(calls) == 4
    model.evaluate(x, y, batch_size=8, verbose=0)
    assert isinstance(model.test_function, fit_guard.StepFunction)
