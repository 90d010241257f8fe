"""Unsupervised pretraining: train an encoder as half of an autoencoder, then reuse it."""

from __future__ import annotations

import math

import keras

from keras_nnperf.validation import check_integer, check_number


def default_decoder(encoder, hidden_units: int = 64) -> keras.Sequential:
    """`Flatten -> Dense(hidden_units, relu) -> Dense(prod(input shape)) -> Reshape(input shape)`.

    A plain dense decoder is enough for pretraining: only the encoder is kept.
    """
    shape = tuple(encoder.inputs[0].shape[1:])
    return keras.Sequential(
        [
            keras.layers.Flatten(),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(math.prod(shape)),
            keras.layers.Reshape(shape),
        ],
        name="decoder",
    )


def pretrain_autoencoder(
    encoder,
    x,
    epochs: int = 10,
    batch_size: int = 32,
    decoder=None,
    noise_stddev: float = 0.0,
    optimizer="adam",
    loss: str = "mse",
    validation_split: float = 0.0,
    verbose: int = 0,
):
    """Train `encoder` without labels, to reconstruct `x` through a decoder; return the autoencoder.

    The autoencoder is `decoder(encoder(GaussianNoise(noise_stddev)(x)))`, trained to output
    `x` (a denoising autoencoder when `noise_stddev > 0`; the noise is only applied in
    training). The `encoder`'s own layers are trained in place, so afterwards
    `reuse(encoder, head=..., num_layers=None)` builds the supervised model on them: with few
    labels, features learned from all the unlabeled data start it far better than random
    weights.

    Args:
        encoder: A built Keras model (for `reuse`: a chain, e.g. a `Sequential` with an `Input`)
            from inputs to a code.
        x: Unlabeled inputs (arrays or anything `fit` takes that yields inputs only).
        epochs: Training epochs, >= 1.
        batch_size: Batch size, >= 1.
        decoder: A layer or model from the code back to the input shape; `None` takes
            `default_decoder(encoder)`.
        noise_stddev: Standard deviation of the input noise, >= 0.
        optimizer: Optimizer of the autoencoder (name or instance).
        loss: Reconstruction loss, `"mse"` for real-valued inputs.
        validation_split: Passed to `fit`, in [0, 1).
        verbose: Passed to `fit`.

    Returns:
        The trained autoencoder (`keras.Model`); its `history` is the `fit` history.

    Raises:
        ValueError: for bad arguments or an unbuilt encoder.

    Example:
    ```python
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(16, 3), ...])
    pretrain_autoencoder(encoder, x_all, epochs=20)
    model = reuse(encoder, head=10, num_layers=None)
    ```

    Reference:
        Hinton & Salakhutdinov, 2006, "Reducing the Dimensionality of Data with Neural
        Networks"; Vincent et al., 2008, "Extracting and Composing Robust Features with
        Denoising Autoencoders"; Erhan et al., 2010, "Why Does Unsupervised Pre-training Help
        Deep Learning?".
    """
    if not isinstance(encoder, keras.Model) or not encoder.built or not encoder.inputs:
        raise ValueError(
            "Argument encoder must be a built Keras model with an input (e.g. a Sequential "
            f"starting with keras.Input). Received: encoder={encoder!r}"
        )
    epochs = check_integer("epochs", epochs, low=1)
    batch_size = check_integer("batch_size", batch_size, low=1)
    noise_stddev = check_number("noise_stddev", noise_stddev, low=0.0)
    validation_split = check_number("validation_split", validation_split, low=0.0, high=1.0,
                                    high_open=True)  # fmt: skip
    if decoder is None:
        decoder = default_decoder(encoder)
    elif not isinstance(decoder, keras.layers.Layer):
        raise ValueError(f"Argument decoder must be a Keras layer or model. Received: {decoder!r}")
    inputs = keras.Input(shape=tuple(encoder.inputs[0].shape[1:]), dtype=encoder.inputs[0].dtype)
    noisy = keras.layers.GaussianNoise(noise_stddev)(inputs) if noise_stddev else inputs
    autoencoder = keras.Model(inputs, decoder(encoder(noisy)), name="autoencoder")
    autoencoder.compile(optimizer=optimizer, loss=loss)
    autoencoder.fit(
        x,
        x,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split,
        verbose=verbose,
    )
    return autoencoder
