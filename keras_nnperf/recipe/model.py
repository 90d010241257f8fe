"""The default network of `nnperf fit`: a small Mish MLP, He-initialized, started at baseline."""

from __future__ import annotations

import keras

#: The output kernel's scale after `start_at_baseline`.
OUTPUT_KERNEL_SCALE = 0.1

#: The rate of the one Dropout layer, between the two hidden blocks. Measured against none on 38
#: real splits (`benchmarks/recipe_ablation.py --variants no_dropout`): without it the recipe
#: loses 18 and wins 14, mean -0.001, regression splits included.
DROPOUT_RATE = 0.1

TASK_HEADS = {
    "binary": ("sigmoid", "binary_crossentropy"),
    "multiclass": ("softmax", "sparse_categorical_crossentropy"),
    "regression": (None, "mse"),
}


def build_model(
    num_features: int,
    task: str,
    num_classes: int | None = None,
    seed: int = 0,
    y_train=None,
    embeddings=None,
):
    """The default network: two Dense(64, mish) layers, dropout between, He-initialized, AdamW.

    With `embeddings` (`TabularPreprocessor.embedding_columns`), a `TabularEmbedding` layer first
    looks up the integer-code columns of high-cardinality categoricals in trainable embeddings
    of fastai's size and passes the other columns through, so the model still takes the one
    feature matrix that `predict`, saving and the tuner use.

    With `y_train`, the output layer starts at the trivial baseline
    (`keras_nnperf.initializers.initialize_at_baseline`): its bias at the class log-prior or the
    target mean, its kernel scaled by 0.1, so the first loss is what a constant prediction
    scores and training spends no steps learning the class frequencies.

    Args:
        num_features: Width of the input.
        task: `"binary"`, `"multiclass"` or `"regression"`.
        num_classes: Number of classes for `"multiclass"`.
        seed: Seed of the initializers and dropout.
        y_train: Training targets as the model is trained on them, or `None` to keep Keras's
            zero bias.
        embeddings: A list of `{"index", "input_dim", "output_dim"}` dicts (extra keys are
            ignored), one per code column, or `None` / `[]` for none.

    Returns:
        A compiled `keras.Model`.

    Raises:
        ValueError: for an unknown task or a missing `num_classes`.
    """
    if task not in TASK_HEADS:
        raise ValueError(
            f"Argument task must be binary, multiclass or regression. Received: task={task!r}"
        )
    if task == "multiclass" and not (num_classes and num_classes >= 2):
        raise ValueError(
            f"Argument num_classes must be >= 2. Received: num_classes={num_classes!r}"
        )
    inputs = keras.Input((num_features,), name="features")
    x = hidden_blocks(embed_columns(inputs, embeddings, seed), seed)
    activation, _ = TASK_HEADS[task]
    units = num_classes if task == "multiclass" else 1
    outputs = keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2),
        name="output",
    )(x)
    model = keras.Model(inputs, outputs, name="nnperf_mlp")
    compile_for_task(model, task)
    if y_train is not None:
        start_at_baseline(model, y_train, task)
    return model


def hidden_blocks(x, seed: int = 0):
    """The default network's hidden part on `x`: two Dense(64, mish) layers, dropout between.

    He-initialized for Mish (`for_activation`), dropout at `DROPOUT_RATE`; `build_model` puts
    the output layer on top, and ablations reuse it to change only what they measure.
    """
    from keras_nnperf import get_activation
    from keras_nnperf.initializers.for_activation import for_activation

    for i in range(2):
        x = keras.layers.Dense(
            64,
            activation=get_activation("mish"),
            kernel_initializer=for_activation("mish", seed=seed + i),
            name=f"dense_{i}",
        )(x)
        if i == 0:  # between the blocks only: dropout right before the output just adds noise
            x = keras.layers.Dropout(DROPOUT_RATE, seed=seed, name="dropout")(x)
    return x


def embed_columns(inputs, embeddings, seed: int = 0):
    """`inputs` through a `TabularEmbedding` of the code columns in `embeddings`, if any.

    Raises:
        ValueError: for an embedding entry without `index`, `input_dim` or `output_dim`.
    """
    from keras_nnperf.tabular.embedding import TabularEmbedding

    if not embeddings:
        return inputs
    try:
        columns = [e["index"] for e in embeddings]
        input_dims = [e["input_dim"] for e in embeddings]
        output_dims = [e["output_dim"] for e in embeddings]
    except (KeyError, TypeError):
        raise ValueError(
            "Argument embeddings must be a list of dicts with keys index, input_dim and "
            f"output_dim. Received: embeddings={embeddings!r}"
        ) from None
    layer = TabularEmbedding(columns, input_dims, output_dims, seed=seed, name="embeddings")
    return layer(inputs)


def start_at_baseline(model, y_train, task: str):
    """Set the output layer so the first prediction is the trivial baseline's; return what was set.

    A call of `keras_nnperf.initializers.initialize_at_baseline`: bias at the class log-prior or
    the target mean, output kernel x `OUTPUT_KERNEL_SCALE` (0.1: the first loss is within a few
    percent of the baseline's, and the hidden layers' gradients are not 100x below the output
    layer's, which the gradient monitor would rightly call vanishing).
    """
    from keras_nnperf.initializers.baseline import initialize_at_baseline

    return initialize_at_baseline(model, y_train, task=task, kernel_scale=OUTPUT_KERNEL_SCALE)


def compile_for_task(model, task: str, learning_rate: float = 1e-3) -> None:
    """Compile with AdamW and the loss and metrics that fit `task`."""
    _, loss = TASK_HEADS[task]
    metrics = {
        "binary": ["accuracy", keras.metrics.AUC(name="auc")],
        "multiclass": ["accuracy"],
        "regression": ["mae"],
    }[task]
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=1e-4),
        loss=loss,
        metrics=metrics,
    )
