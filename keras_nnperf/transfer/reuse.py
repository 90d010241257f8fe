"""Reuse the lower layers of a trained model under a new head."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_nnperf.validation import check_bool, check_integer


def _chain(model) -> list:
    """The layers of `model` as a chain (Sequential, or a functional model that is a chain)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"Argument model must be a Keras model. Received: model={model!r}")
    if not model.built:
        raise ValueError(
            "Argument model must be built (give it an Input or call it once). "
            f"Received: model={model!r}"
        )
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        return layers
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            "reuse takes models with one input and one output whose layers form a chain. For "
            "other models, build the base as keras.Model(model.input, model.get_layer(name)"
            ".output) and call it with training=False. "
            f"Received: model with {len(model.inputs)} inputs, {len(model.outputs)} outputs"
        )
    previous = model.inputs[0]
    for layer in layers:
        if layer.input is not previous:
            raise ValueError(
                "reuse takes models whose layers form a chain; layer "
                f"{layer.name!r} does not take the previous layer's output. Build the base as "
                "keras.Model(model.input, model.get_layer(name).output) and call it with "
                f"training=False. Received: model={model.name!r}"
            )
        previous = layer.output
    return layers


def _count(layers: list, num_layers) -> int:
    if isinstance(num_layers, str):
        names = [layer.name for layer in layers]
        if num_layers not in names:
            raise ValueError(
                f"Argument num_layers must be a layer name of the model ({names}) or an "
                f"integer. Received: num_layers={num_layers!r}"
            )
        return names.index(num_layers) + 1
    if num_layers is None:
        return len(layers)
    count = check_integer("num_layers", num_layers, low=-len(layers) + 1, high=len(layers))
    if count == 0:
        raise ValueError(f"Argument num_layers must not be 0. Received: num_layers={num_layers!r}")
    return count if count > 0 else len(layers) + count


def _head_layers(head) -> list:
    if isinstance(head, bool):
        raise ValueError(f"Argument head must be a layer, layers or an int. Received: {head!r}")
    if isinstance(head, int):
        classes = check_integer("head", head, low=1)
        activation = "sigmoid" if classes == 1 else "softmax"
        return [keras.layers.Dense(classes, activation=activation, name="head")]
    if isinstance(head, keras.layers.Layer):
        return [head]
    if (
        isinstance(head, Sequence)
        and head
        and all(isinstance(layer, keras.layers.Layer) for layer in head)
    ):
        return list(head)
    raise ValueError(
        "Argument head must be a Keras layer, a list of layers, or a number of classes. "
        f"Received: head={head!r}"
    )


def _copy(layer):
    """A new layer with the same config and weights (the trained model stays untouched)."""
    return layer.__class__.from_config(layer.get_config())


def reuse(
    model,
    head,
    num_layers: int | str | None = -1,
    copy: bool = True,
    freeze: bool = False,
    name: str | None = None,
):
    """A new model: the lower layers of a trained `model` followed by a new `head`.

    The first `num_layers` layers of `model` are called in order on a new input of the same
    shape, then the `head`. Every reused `BatchNormalization` gets `trainable = False`, which in
    Keras 3 also runs it in inference mode: it normalizes with the statistics it learned on the
    first task, whether the rest is frozen or not, and never updates them from the small batches
    of the new task. This is Keras's rule for fine-tuning (keep BatchNormalization in inference
    mode, also once the base is unfrozen), the one users most often miss. A `training=False`
    given when the layer is called would not do: a functional model passes its own `training`
    to every layer, overriding it.

    To train the new model, either freeze with `freeze=True` (plain Keras `trainable = False`:
    compile after, and compile again after unfreezing by hand), or leave `freeze=False` and use
    `fine_tune`, `GradualUnfreezing` or `DiscriminativeLearningRates`, which freeze and slow the
    reused layers themselves and keep the optimizer's state across unfreezing.

    Args:
        model: A built Keras model whose layers form a chain (any `Sequential`, or a functional
            model with one input where each layer takes the previous one's output).
        head: The new top: a layer, a list of layers, or a number of classes `n` (a
            `Dense(n, "softmax")` named `"head"`; `sigmoid` for `n = 1`).
        num_layers: How many layers to reuse from the bottom: an int (a negative one drops that
            many from the top; default -1 replaces the output layer), a layer name (reuse up to
            and including it), or `None` (all layers, e.g. a pretrained encoder).
        copy: Copy the reused layers with their weights (default), so training the new model
            leaves `model` untouched. With `False` both models share the layers.
        freeze: Set `trainable = False` on the reused layers.
        name: Name of the new model.

    Returns:
        A functional `keras.Model`, uncompiled. Reused layers keep their names.

    Raises:
        ValueError: for a model that is not a built chain, or a bad `head` or `num_layers`.

    Example:
    ```python
    model_b = reuse(model_a, head=5)  # all but the output layer, a new 5-way softmax
    model_b.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ```

    Reference:
        Géron, 2019, "Hands-On Machine Learning", chapter 11 (reusing pretrained layers);
        Yosinski et al., 2014, "How transferable are features in deep neural networks?".
    """
    layers = _chain(model)
    count = _count(layers, num_layers)
    head_layers = _head_layers(head)
    copy = check_bool("copy", copy)
    freeze = check_bool("freeze", freeze)
    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]), dtype=model.inputs[0].dtype)
    x = inputs
    for layer in layers[:count]:
        new = _copy(layer) if copy else layer
        x = new(x)
        if copy:
            new.set_weights(layer.get_weights())
        if freeze or isinstance(new, keras.layers.BatchNormalization):
            new.trainable = False
    for layer in head_layers:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def reused_layer_names(model, head) -> list[str]:
    """Names of the layers of `model` below `head` (a layer name or the head layer), in order.

    The natural `groups` for `fine_tune` and `GradualUnfreezing` after `reuse`.
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    names = [layer.name for layer in layers]
    head_name = head if isinstance(head, str) else getattr(head, "name", None)
    if head_name not in names:
        raise ValueError(f"Argument head must name a layer of the model. Received: head={head!r}")
    return names[: names.index(head_name)]
