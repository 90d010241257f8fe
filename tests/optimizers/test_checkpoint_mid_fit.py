"""A checkpoint written while our callbacks run must load cleanly (no optimizer warning)."""

import warnings

import keras
import numpy as np

import keras_nnperf as nnp
from keras_nnperf.optimizers.training_state import keras_variables


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32"))[:, None]
    return x, y


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    return model


def _our_callbacks():
    return [
        nnp.callbacks.WarmUp(steps=4),
        nnp.callbacks.OneCycle(max_lr=1e-2, cycle_momentum=True),
        nnp.callbacks.PerformanceScheduler(monitor="loss", patience=1),
        nnp.callbacks.GradientMonitor(alerts=False),
    ]


def _load_strictly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return keras.models.load_model(path)


def test_checkpoint_saved_mid_fit_loads_without_warning_and_resumes(tmp_path):
    x, y = _data()
    model = _model()
    seen = {}

    class Spy(keras.callbacks.Callback):
        # Runs after the checkpoint of the same epoch: what the file should hold.
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                seen["weights"] = [np.array(w) for w in self.model.get_weights()]
                optimizer = self.model.optimizer
                assert len(keras_variables(optimizer)) < len(optimizer.variables)  # ours are on
                seen["optimizer"] = [np.array(v) for v in keras_variables(optimizer)]

    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "mid_fit_{epoch}.keras"))
    callbacks = [*_our_callbacks(), checkpoint, Spy()]
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=callbacks)
    loaded = _load_strictly(str(tmp_path / "mid_fit_2.keras"))  # saved at the end of epoch 1
    expected_model = _model()
    expected_model.set_weights(seen["weights"])
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected_model.predict(x, verbose=0))
    # The loaded optimizer holds what the saved one held (iterations: 2 epochs of 4 steps).
    assert int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)) == 8
    assert len(loaded.optimizer.variables) == len(seen["optimizer"])
    for saved, restored in zip(seen["optimizer"], loaded.optimizer.variables, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(restored), saved)
    # The shadowed saving went with our state.
    assert "save_own_variables" not in vars(model.optimizer)
    history = loaded.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=_our_callbacks())
    assert np.all(np.isfinite(history.history["loss"]))


def test_weights_saved_mid_fit_load_mid_fit_into_keras_variables_only(tmp_path):
    x, y = _data()
    model = _model()
    path = str(tmp_path / "mid_fit.weights.h5")
    saved = {}

    class Save(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.save_weights(path)
            saved["values"] = [np.array(v) for v in keras_variables(self.model.optimizer)]

    class Load(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    self.model.load_weights(path)
                restored = keras_variables(self.model.optimizer)
                for value, variable in zip(saved["values"], restored, strict=True):
                    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), value)

    fit = dict(x=x, y=y, batch_size=16, epochs=1, verbose=0)
    model.fit(**fit, callbacks=[*_our_callbacks(), Save()])
    model.fit(**fit, callbacks=[*_our_callbacks(), Load()])
