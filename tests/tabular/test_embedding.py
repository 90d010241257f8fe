import keras
import numpy as np
import pytest

from keras_nnperf.recipe.model import build_model
from keras_nnperf.tabular import TabularEmbedding, embedding_size


@pytest.mark.parametrize("n, size", [(1, 2), (2, 2), (13, 7), (100, 21), (1000, 77), (10**6, 600)])
def test_embedding_size_is_fastais_rule(n, size):
    assert embedding_size(n) == size == min(600, round(1.6 * n**0.56))


@pytest.mark.parametrize("n", [0, -3, 2.5, True, None])
def test_embedding_size_rejects_bad_counts(n):
    with pytest.raises(ValueError, match="num_levels"):
        embedding_size(n)


def _codes():
    # Column 1 holds codes of 5 levels, column 3 codes of 3; 7 is out of range (clipped to 4).
    return np.array(
        [[0.5, 2.0, -1.0, 1.0], [1.5, 0.0, 2.0, 2.0], [-0.5, 7.0, 0.25, 0.0]], "float32"
    )


def test_layer_output_is_the_passthrough_then_the_looked_up_rows():
    layer = TabularEmbedding([1, 3], [5, 3], [4, 2], seed=1)
    x = _codes()
    y = keras.ops.convert_to_numpy(layer(x))
    tables = [keras.ops.convert_to_numpy(e.embeddings) for e in layer.embeddings]
    expected = np.concatenate([x[:, [0, 2]], tables[0][[2, 0, 4]], tables[1][[1, 2, 0]]], axis=1)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert layer.compute_output_shape((None, 4)) == (None, 2 + 4 + 2)
    assert [t.shape for t in tables] == [(5, 4), (3, 2)]
    assert 0 < np.abs(tables[0]).max() < 0.05  # truncated normal, std 0.01


def test_layer_with_only_code_columns():
    layer = TabularEmbedding([0], [3], [2])
    assert keras.ops.convert_to_numpy(layer(np.array([[1.0], [2.0]], "float32"))).shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"columns": [], "input_dims": [], "output_dims": []}, "non-empty lists"),
        ({"columns": [1], "input_dims": [3, 4], "output_dims": [2]}, "same length"),
        ({"columns": [1, 1], "input_dims": [3, 4], "output_dims": [2, 2]}, "distinct"),
        ({"columns": [-1], "input_dims": [3], "output_dims": [2]}, "columns must be an integer"),
        ({"columns": [1], "input_dims": [0], "output_dims": [2]}, "input_dims must be"),
        ({"columns": [1], "input_dims": [3], "output_dims": [1.5]}, "output_dims must be"),
        ({"columns": [1], "input_dims": [3], "output_dims": [2], "seed": 1.5}, "seed"),
        (
            {"columns": [1], "input_dims": [3], "output_dims": [2], "embeddings_initializer": 7},
            "embeddings_initializer",
        ),
        (
            {"columns": [1], "input_dims": [3], "output_dims": [2], "embeddings_initializer": "x"},
            "embeddings_initializer",
        ),
    ],
)
def test_layer_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TabularEmbedding(**kwargs)


def test_an_embeddings_initializer_starts_every_table_and_round_trips():
    layer = TabularEmbedding([1, 2], [3, 4], [2, 5], embeddings_initializer="ones")
    layer(_codes())
    assert all(np.all(keras.ops.convert_to_numpy(w) == 1.0) for w in layer.weights)
    again = TabularEmbedding.from_config(layer.get_config())
    again(_codes())
    assert all(np.all(keras.ops.convert_to_numpy(w) == 1.0) for w in again.weights)
    # The default: fastai's truncated normal of standard deviation 0.01, seeded per table.
    default = TabularEmbedding([1, 2], [3, 4], [2, 5], seed=3)
    default(_codes())
    assert default.get_config()["embeddings_initializer"] is None
    first = keras.ops.convert_to_numpy(default.weights[0])
    assert 0 < np.abs(first).max() <= 0.02


def test_the_default_tables_start_as_kerass_truncated_normal_drawn_on_the_host():
    from keras_nnperf.tabular.embedding import _TruncatedNormalOnHost

    draw = _TruncatedNormalOnHost(seed=4)((200, 100), "float32")
    reference = keras.ops.convert_to_numpy(
        keras.initializers.TruncatedNormal(stddev=0.01, seed=4)((200, 100), "float32")
    )
    assert draw.dtype == np.float32 and draw.shape == (200, 100)
    assert np.abs(draw).max() <= 0.02 and np.abs(reference).max() <= 0.02
    # The same distribution: N(0, 0.01) cut at two standard deviations has std 0.00880.
    np.testing.assert_allclose([draw.std(), reference.std()], 0.00880, rtol=0.02)
    np.testing.assert_array_equal(draw, _TruncatedNormalOnHost(seed=4)((200, 100), "float32"))
    # Without a seed, keras.utils.set_random_seed makes it repeat.
    keras.utils.set_random_seed(1)
    first = _TruncatedNormalOnHost(None)((5, 3))
    keras.utils.set_random_seed(1)
    np.testing.assert_array_equal(first, _TruncatedNormalOnHost(None)((5, 3)))


def test_layer_rejects_a_column_beyond_the_input():
    with pytest.raises(ValueError, match="< the input width 4"):
        TabularEmbedding([4], [3], [2])(_codes())


def test_build_model_with_embeddings_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 13, size=64)
    x = np.stack([rng.normal(size=64), codes, rng.normal(size=64)], axis=1).astype("float32")
    y = (codes % 2).astype("float32")[:, None]  # only the embedded column tells the class
    embeddings = [{"name": "b", "index": 1, "input_dim": 13, "output_dim": embedding_size(13)}]
    model = build_model(3, "binary", seed=0, y_train=y, embeddings=embeddings)
    layer = model.get_layer("embeddings")
    assert isinstance(layer, TabularEmbedding) and layer.output.shape[-1] == 2 + 7
    before = keras.ops.convert_to_numpy(layer.embeddings[0].embeddings).copy()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = keras.ops.convert_to_numpy(layer.embeddings[0].embeddings)
    assert not np.allclose(before, after)  # the embedding is trained
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert loaded.get_layer("embeddings").get_config() == layer.get_config()


def test_build_model_without_embeddings_is_unchanged():
    plain = build_model(4, "regression", seed=0)
    same = build_model(4, "regression", seed=0, embeddings=[])
    assert [type(v) for v in plain.layers] == [type(v) for v in same.layers]
    with pytest.raises(ValueError, match="Argument embeddings must be"):
        build_model(4, "regression", embeddings=[{"index": 1}])


def test_layer_under_mixed_precision_keeps_float32_tables():
    layer = TabularEmbedding([1], [1000], [8], seed=0, dtype="mixed_float16")
    x = np.array([[0.25, 999.0], [0.5, 517.0]], "float32")
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float16" and y.shape == (2, 9)
    table = keras.ops.convert_to_numpy(layer.embeddings[0].embeddings)
    assert table.dtype == np.float32  # codes up to 2048 are exact in float16
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(y)[:, 1:], table[[999, 517]].astype("float16"), rtol=1e-3
    )
