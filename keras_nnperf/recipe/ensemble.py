"""Seed ensembles: the recipe's network trained from several seeds, its outputs averaged.

A deep ensemble (Lakshminarayanan, Pritzel and Blundell 2017, "Simple and Scalable Predictive
Uncertainty Estimation using Deep Ensembles") trains M networks that differ only in their
random initialization and predicts with the mean of their outputs:

    p(y | x) = (1 / M) * sum_m p_m(y | x)

the mean of the class probabilities (sigmoid or softmax outputs) for classification, of the
predicted values for regression. On a small table one network's validation score depends on
its seed by several points (semopy's school table: 0.633 to 0.750 over five seeds); the
mean's spread is smaller, and it scores at least as well as the average member in expectation
(Jensen's inequality for the convex losses used here).

`average_outputs` wraps trained members into one `keras.Model` built from Keras's own layers
(`Average`), so `model.keras` saves and loads with no `custom_objects`, and `nnperf predict`
reads it as any single network.
"""

from __future__ import annotations

import keras

#: The name of the averaging model, and the prefix of its members' names.
ENSEMBLE_NAME = "nnperf_ensemble"
MEMBER_PREFIX = "member_"


def average_outputs(members, name: str = ENSEMBLE_NAME) -> keras.Model:
    """One model whose output is the mean of `members`' outputs on the same input.

    The members are renamed `member_1`, `member_2`, ... (nested models need unique names) and
    kept as they are: their weights are shared with the returned model, not copied. A single
    member is returned unchanged. The returned model is not compiled: `predict` and `save`
    need no compiling; `compile` it (any optimizer) to `evaluate` it.

    Args:
        members: One or more built functional `keras.Model`s with one input and one output of
            the same shapes.
        name: The returned model's name.

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: for no members, a member that is not a built `keras.Model`, or members whose
            input or output shapes differ.
    """
    members = list(members) if not isinstance(members, keras.Model) else [members]
    if not members:
        raise ValueError("Argument members must hold at least one model. Received: members=[]")
    for m in members:
        if not isinstance(m, keras.Model) or not m.built or len(getattr(m, "inputs", ())) != 1:
            raise ValueError(
                "Argument members must be built keras.Model objects with one input. "
                f"Received: {m!r}"
            )
    shapes = {(tuple(m.inputs[0].shape), tuple(m.outputs[0].shape)) for m in members}
    if len(shapes) != 1:
        raise ValueError(
            "Argument members must share one input shape and one output shape. "
            f"Received: (input, output) shapes {sorted(shapes, key=str)}"
        )
    if len(members) == 1:
        return members[0]
    first = members[0]
    inputs = keras.Input(first.inputs[0].shape[1:], dtype=first.inputs[0].dtype, name="features")
    outputs = []
    for i, member in enumerate(members):
        member.name = f"{MEMBER_PREFIX}{i + 1}"
        outputs.append(member(inputs))
    return keras.Model(inputs, keras.layers.Average(name="mean")(outputs), name=name)


def members_of(model) -> list:
    """The member networks of an `average_outputs` model, or `[model]` for any other model."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not layers or not isinstance(layers[-1], keras.layers.Average):
        return [model]
    found = layers[:-1]
    if len(found) < 2 or not all(isinstance(layer, keras.Model) for layer in found):
        return [model]
    return found
