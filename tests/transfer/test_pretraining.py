"""pretrain_autoencoder trains the encoder in place; reuse then takes it."""

import keras
import numpy as np
import pytest

from keras_nnperf.transfer import pretrain_autoencoder, reuse


def _encoder():
    keras.utils.set_random_seed(4)
    return keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(6, activation="relu", name="code"),
        ]
    )


def _images(n=64):
    rng = np.random.default_rng(0)
    base = rng.uniform(size=(2, 4, 4, 1)).astype("float32")
    return base[rng.integers(0, 2, size=n)] + 0.05 * rng.normal(size=(n, 4, 4, 1)).astype("float32")


@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_trains_the_encoder_in_place_and_reuse_takes_it(noise):
    encoder, x = _encoder(), _images()
    before = encoder.get_layer("code").get_weights()[0].copy()
    autoencoder = pretrain_autoencoder(encoder, x, epochs=8, batch_size=16, noise_stddev=noise)
    losses = autoencoder.history.history["loss"]
    assert losses[-1] < losses[0]
    assert autoencoder.output.shape[1:] == (4, 4, 1)
    trained = encoder.get_layer("code").get_weights()[0]
    assert not np.array_equal(trained, before)
    model = reuse(encoder, head=2, num_layers=None)
    np.testing.assert_array_equal(model.get_layer("code").get_weights()[0], trained)
    assert model.output.shape[1:] == (2,)


def test_custom_decoder_and_bad_arguments():
    encoder, x = _encoder(), _images(16)
    decoder = keras.Sequential([keras.layers.Dense(16), keras.layers.Reshape((4, 4, 1))])
    pretrain_autoencoder(encoder, x, epochs=1, decoder=decoder)
    for kwargs in (
        dict(epochs=0),
        dict(batch_size=0),
        dict(noise_stddev=-1.0),
        dict(validation_split=1.0),
        dict(decoder="dense"),
    ):
        with pytest.raises(ValueError, match="Argument"):
            pretrain_autoencoder(encoder, x, **kwargs)
    with pytest.raises(ValueError, match="Argument encoder"):
        pretrain_autoencoder(keras.Sequential([keras.layers.Dense(2)]), x)
