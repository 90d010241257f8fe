"""fastai's `fine_tune`: the head first with the base frozen, then everything, lr_find each time."""

from __future__ import annotations

import dataclasses

from keras_nnperf.callbacks.hyperparameters import momentum_attribute
from keras_nnperf.callbacks.lr_finder import lr_find
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.transfer.discriminative import even_multipliers, layer_groups, layer_rates
from keras_nnperf.validation import check_integer, check_number


@dataclasses.dataclass
class FineTuneResult:
    """What `fine_tune` did.

    Attributes:
        history: Per-epoch logs of both phases, concatenated (`history["val_accuracy"][-1]` is
            the last epoch's), like `keras.callbacks.History.history`.
        histories: The `History` of each phase.
        learning_rates: The peak rate of each phase's 1Cycle (from `lr_find`).
        lr_find_results: The `LRFinderResult` of each phase.
        groups: The layer groups of the base, bottom to top.
        multipliers: Their rate multipliers in the second phase (the head's is 1).
    """

    history: dict
    histories: list
    learning_rates: list
    lr_find_results: list
    groups: list
    multipliers: list


def _cycle_momentum(optimizer) -> bool:
    attribute = momentum_attribute(optimizer)
    if attribute == "momentum":
        return bool(unscaled_optimizer(optimizer).momentum)
    return attribute is not None


def _check_cycle_length(x, batch_size, *phase_epochs) -> None:
    """A 1Cycle needs 3 steps; say so in `fine_tune`'s terms for array inputs."""
    length = getattr(x, "shape", None)
    if length is None or not length:
        return
    steps = -(-int(length[0]) // batch_size)
    for epochs in phase_epochs:
        if epochs and steps * epochs < 3:
            raise ValueError(
                "Arguments batch_size and epochs must give each phase of fine_tune (a 1Cycle) "
                f"at least 3 steps; {int(length[0])} samples give {steps} per epoch. "
                f"Received: batch_size={batch_size!r}, epochs={epochs!r}"
            )


def fine_tune(
    model,
    x,
    y=None,
    *,
    base,
    epochs: int = 5,
    freeze_epochs: int = 1,
    num_groups: int = 3,
    lr_mult: float = 100.0,
    pct_start: float = 0.3,
    div_factor: float = 5.0,
    batch_size: int = 32,
    validation_data=None,
    callbacks=None,
    lr_find_steps: int = 100,
    verbose: int = 0,
) -> FineTuneResult:
    """Fine-tune a model whose lower layers (`base`) are pretrained, as fastai's `fine_tune` does.

    1. **Head.** The base is frozen (its layers' gradients are dropped, weights and optimizer
       slots untouched; see `DiscriminativeLearningRates`). `lr_find` picks `lr_1`; then
       `freeze_epochs` epochs of 1Cycle peaking at `lr_1` (`pct_start=0.99`: fastai's warm-up
       for the head).
    2. **Everything.** The base's layers with weights are split into `num_groups` groups,
       bottom to top, with rate multipliers spaced geometrically from `1 / lr_mult` (bottom) to
       1 (the head): fastai's `slice(lr / lr_mult, lr)`. `lr_find` picks `lr_2` under those
       multipliers; then `epochs` epochs of 1Cycle peaking at `lr_2`, starting at
       `lr_2 / div_factor` (fastai's `div=5`: the head is trained already, so the warm-up need
       not start as low as a fresh run's `lr / 25`).

    The optimizer is the model's own, built once over all layers, so the second phase starts
    from the state the first left (the base's slots still empty). Momentum (`beta_1` or SGD's
    `momentum`) is cycled when the optimizer has one. Total epochs: `freeze_epochs + epochs`.

    Args:
        model: A compiled model, e.g. from `reuse(..., freeze=False)`.
        x: Training inputs (arrays, or anything `fit` takes).
        y: Training targets for array inputs.
        base: Names of the pretrained layers (e.g. `reused_layer_names(model, "head")`).
        epochs: Epochs of the second phase, >= 1.
        freeze_epochs: Epochs of the first phase (head only), >= 0; 0 skips it.
        num_groups: Layer groups of the base in the second phase, >= 1.
        lr_mult: Ratio between the head's rate and the bottom group's, >= 1. fastai's 100 suits
            a base with general features (ImageNet); for a small base whose top layers are
            specific to its first task, try 10 or 1 (docs/transfer.md measures why).
        pct_start: Fraction of the second phase spent warming up, in (0, 1).
        div_factor: The second phase's 1Cycle starts at its peak rate / `div_factor`, > 0
            (fastai's `fine_tune` uses 5; the first phase keeps 1Cycle's 25).
        batch_size: Batch size for array inputs.
        validation_data: Passed to `fit`.
        callbacks: Further callbacks for both phases' `fit` (not for `lr_find`).
        lr_find_steps: Steps of each range test, >= 5.
        verbose: Passed to `fit` (0, 1 or 2).

    Returns:
        A `FineTuneResult`.

    Raises:
        ValueError: for bad arguments, or `base` naming no layer with weights.

    Example:
    ```python
    model = reuse(pretrained, head=5)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    result = fine_tune(model, x, y, base=reused_layer_names(model, "head"), epochs=10,
                       validation_data=(x_val, y_val))
    ```

    Reference:
        Howard & Gugger, 2020, "fastai: A Layered API for Deep Learning" (`fine_tune`);
        Howard & Ruder, 2018, "Universal Language Model Fine-tuning for Text Classification";
        Smith, 2018, "A disciplined approach to neural network hyper-parameters".
    """
    epochs = check_integer("epochs", epochs, low=1)
    freeze_epochs = check_integer("freeze_epochs", freeze_epochs, low=0)
    num_groups = check_integer("num_groups", num_groups, low=1)
    lr_mult = check_number("lr_mult", lr_mult, low=1.0)
    pct_start = check_number("pct_start", pct_start, low=0.0, high=1.0, low_open=True,
                             high_open=True)  # fmt: skip
    div_factor = check_number("div_factor", div_factor, low=0.0, low_open=True)
    lr_find_steps = check_integer("lr_find_steps", lr_find_steps, low=5)
    batch_size = check_integer("batch_size", batch_size, low=1)
    if isinstance(base, str):
        base = [base]
    if not getattr(model, "compiled", False):
        raise ValueError(f"Argument model must be compiled. Received: model={model!r}")
    groups = layer_groups(model, list(base), num_groups)
    _check_cycle_length(x, batch_size, freeze_epochs, epochs)
    extra = list(callbacks or [])
    momentum = _cycle_momentum(model.optimizer)
    fit_args = dict(batch_size=batch_size, validation_data=validation_data, verbose=verbose)
    histories, rates, finds = [], [], []

    def phase(multipliers, phase_epochs, initial_epoch, start, div):
        with layer_rates(model, groups, multipliers):
            found = lr_find(model, x, y, batch_size=batch_size, num_steps=lr_find_steps)
            cycle = OneCycle(
                max_lr=found.suggestion, pct_start=start, div_factor=div, cycle_momentum=momentum
            )
            history = model.fit(
                x,
                y,
                epochs=initial_epoch + phase_epochs,
                initial_epoch=initial_epoch,
                callbacks=[cycle, *extra],
                **fit_args,
            )
        histories.append(history)
        rates.append(found.suggestion)
        finds.append(found)

    if freeze_epochs:
        phase([0.0] * len(groups), freeze_epochs, 0, 0.99, 25.0)
    multipliers = even_multipliers(len(groups), 1.0 / lr_mult)
    phase(multipliers, epochs, freeze_epochs, pct_start, div_factor)
    merged = {}
    for history in histories:
        for key, values in history.history.items():
            merged.setdefault(key, []).extend(values)
    return FineTuneResult(merged, histories, rates, finds, groups, multipliers)
