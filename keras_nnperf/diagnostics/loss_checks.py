"""Inspections of the compiled loss against the output layer's activation and units."""

from __future__ import annotations

import keras

from keras_nnperf.diagnostics.model_checks import output_activation
from keras_nnperf.diagnostics.report import Finding

_CROSSENTROPY_ALIASES = {
    "bce": "binary_crossentropy",
    "binarycrossentropy": "binary_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
    "binaryfocalcrossentropy": "binary_focal_crossentropy",
    "categoricalfocalcrossentropy": "categorical_focal_crossentropy",
}


def loss_name_and_logits(loss) -> tuple[str | None, bool]:
    """The snake_case name of a compiled loss and its `from_logits` setting."""
    if loss is None or isinstance(loss, (dict, list, tuple)):
        return None, False
    if isinstance(loss, str):
        key = loss.lower().replace("_", "")
        return _CROSSENTROPY_ALIASES.get(key, loss.lower()), False
    if isinstance(loss, keras.losses.Loss):
        config = loss.get_config()
        key = type(loss).__name__.lower()
        name = _CROSSENTROPY_ALIASES.get(key, config.get("name", key))
        return name, bool(config.get("from_logits", False))
    return getattr(loss, "__name__", None), False


def check_loss_fits_output(model) -> list[Finding]:
    """A loss that does not fit the output layer's activation and units."""
    name, from_logits = loss_name_and_logits(getattr(model, "loss", None))
    activation, units = output_activation(model)
    evidence = {"loss": name, "from_logits": from_logits, "output": activation, "units": units}
    problems = []
    if activation == "softmax" and units == 1:
        problems.append(
            (
                "softmax_single_unit",
                "A softmax over one unit always outputs 1.0: the model cannot learn",
                "For a binary target use Dense(1, activation='sigmoid') with "
                "binary_crossentropy, or Dense(2, activation='softmax') with "
                "sparse_categorical_crossentropy.",
            )
        )
    crossentropy = name is not None and "crossentropy" in name
    if crossentropy and activation in (None, "linear") and not from_logits:
        problems.append(
            (
                "logits_without_from_logits",
                f"The output is linear (logits) but {name} expects probabilities",
                f"Pass the loss as an object with from_logits=True (e.g. "
                f"keras.losses.{_class_name(name)}(from_logits=True)), or add the matching "
                "sigmoid/softmax activation to the output layer.",
            )
        )
    if crossentropy and activation in ("sigmoid", "softmax") and from_logits:
        problems.append(
            (
                "probabilities_as_logits",
                f"The output applies {activation} but the loss treats it as logits",
                "Drop the output activation (keep from_logits=True), or set from_logits=False.",
            )
        )
    if name in ("binary_crossentropy", "binary_focal_crossentropy") and activation == "softmax":
        problems.append(
            (
                "loss_output_mismatch",
                "binary_crossentropy on a softmax output: each unit is scored as an independent "
                "yes/no but softmax forces the units to compete",
                "Use softmax with (sparse_)categorical_crossentropy for one label per sample, or "
                "sigmoid with binary_crossentropy for several labels per sample.",
            )
        )
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy") and (
        activation == "sigmoid"
    ):
        problems.append(
            (
                "loss_output_mismatch",
                f"{name} on a sigmoid output: the units do not sum to one, so the loss can be "
                "lowered by pushing every unit up",
                "Use softmax with categorical crossentropy, or sigmoid with binary_crossentropy "
                "for one binary target.",
            )
        )
    return [Finding("error", code, title, evidence, fix) for code, title, fix in problems]


def _class_name(loss_name: str) -> str:
    return "".join(part.capitalize() for part in loss_name.split("_"))
