"""reuse: the lower layers of a trained model, copied, BatchNormalization in inference mode."""

import keras
import numpy as np
import pytest

from keras_nnperf.transfer import reuse, reused_layer_names


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, size=(n,))


def _trained(functional=False):
    keras.utils.set_random_seed(0)
    layers = [
        keras.layers.Dense(8, activation="relu", name="d1"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Dense(8, activation="relu", name="d2"),
        keras.layers.Dense(4, activation="softmax", name="out"),
    ]
    if functional:
        inputs = keras.Input((6,))
        x = inputs
        for layer in layers:
            x = layer(x)
        model = keras.Model(inputs, x)
    else:
        model = keras.Sequential([keras.Input((6,)), *layers])
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = _data()
    model.fit(x, y, epochs=2, verbose=0)
    return model


@pytest.mark.parametrize("functional", [False, True])
def test_reuses_lower_layers_with_copied_weights(functional):
    original = _trained(functional)
    model = reuse(original, head=3)
    assert [layer.name for layer in model.layers[1:]] == ["d1", "bn", "d2", "head"]
    assert model.layers[-1].units == 3 and model.layers[-1].activation.__name__ == "softmax"
    for name in ("d1", "bn", "d2"):
        new, old = model.get_layer(name), original.get_layer(name)
        assert new is not old
        for a, b in zip(new.get_weights(), old.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    # The reused part computes what the original's lower layers compute in inference.
    x, _ = _data()
    below = keras.Model(model.inputs, model.get_layer("d2").output)
    reference = keras.Model(original.inputs, original.get_layer("d2").output)
    np.testing.assert_allclose(below.predict(x, verbose=0), reference.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)  # fmt: skip


def test_training_leaves_original_and_batchnorm_statistics_untouched(tmp_path):
    original = _trained()
    before = [w.copy() for w in original.get_weights()]
    model = reuse(original, head=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    bn = model.get_layer("bn")
    moving = [w.copy() for w in (bn.moving_mean.numpy(), bn.moving_variance.numpy())]
    assert not bn.trainable
    x, y = _data(seed=1)
    model.fit(x * 3.0 + 1.0, y, batch_size=8, epochs=2, verbose=0)
    for a, b in zip(original.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), moving[0])
    np.testing.assert_array_equal(bn.moving_variance.numpy(), moving[1])
    assert not np.array_equal(model.get_layer("d1").get_weights()[0], before[0])
    # Saved and loaded: same outputs, and BatchNormalization still in inference mode.
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)  # fmt: skip
    loaded.compile("adam", "sparse_categorical_crossentropy")
    loaded.fit(x * 3.0 + 1.0, y, batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(loaded.get_layer("bn").moving_mean.numpy(), moving[0])


def test_num_layers_head_copy_and_freeze():
    original = _trained()
    assert [layer.name for layer in reuse(original, 2, num_layers=1).layers[1:]] == ["d1", "head"]
    assert len(reuse(original, 2, num_layers="bn").layers) == 4
    everything = reuse(original, keras.layers.Dense(1, name="new"), num_layers=None)
    assert [layer.name for layer in everything.layers[1:]] == ["d1", "bn", "d2", "out", "new"]
    shared = reuse(original, [keras.layers.Dense(5), keras.layers.Dense(2)], copy=False)
    assert shared.get_layer("d1") is original.get_layer("d1")
    frozen = reuse(original, 3, freeze=True)
    assert not frozen.get_layer("d1").trainable and frozen.get_layer("head").trainable
    assert reuse(original, 3).get_layer("d1").trainable
    assert reused_layer_names(frozen, "head") == ["d1", "bn", "d2"]


def test_bad_arguments():
    original = _trained()
    for kwargs in (
        dict(head=0),
        dict(head=True),
        dict(head="dense"),
        dict(head=2, num_layers=0),
        dict(head=2, num_layers=9),
        dict(head=2, num_layers="nope"),
        dict(head=2, copy=1),
    ):
        with pytest.raises(ValueError, match="Argument"):
            reuse(original, **kwargs)
    inputs = keras.Input((6,))
    branch = keras.layers.Add()([keras.layers.Dense(6)(inputs), inputs])
    with pytest.raises(ValueError, match="chain"):
        reuse(keras.Model(inputs, keras.layers.Dense(2)(branch)), head=2)
    with pytest.raises(ValueError, match="Argument head"):
        reused_layer_names(original, "nope")
