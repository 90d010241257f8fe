import keras
import numpy as np

from keras_nnperf.diagnostics._float64 import clone_in_dtype, float64_computation
from keras_nnperf.tabular import TabularEmbedding
from keras_nnperf.tabular.embedding import _TruncatedNormalOnHost


def _model():
    inputs = keras.Input((4,))
    x = TabularEmbedding([1, 3], [5, 7], [3, 4], seed=0)(inputs)
    x = keras.layers.Dense(6, activation="tanh")(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def test_the_float64_copy_holds_the_weights_and_runs_no_initializer(monkeypatch):
    # The copy's weights are overwritten at once: on JAX every initializer run on a new shape
    # compiled, 10.9 s of the doctor's 28 s on a table of 18 embedded columns (round 19).
    keras.utils.set_random_seed(0)
    model = _model()
    x = np.random.default_rng(0).uniform(0, 4, (8, 4)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(x))
    calls = []
    for initializer in (_TruncatedNormalOnHost, keras.initializers.GlorotUniform):
        original = initializer.__call__

        def counted(self, *args, _original=original, **kwargs):
            calls.append(type(self).__name__)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(initializer, "__call__", counted)
    with float64_computation():
        copy = clone_in_dtype(model, x, "float64")
        output = keras.ops.convert_to_numpy(copy(x.astype("float64")))
        dtypes = {keras.backend.standardize_dtype(w.dtype) for w in copy.weights}
    assert calls == []
    assert dtypes == {"float64"}
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)
    assert model.get_layer(index=1).get_config()["embeddings_initializer"] is None  # untouched
