"""fastai's `fine_tune`: the head first with the base frozen, then everything, lr_find each time."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from keras import ops

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
        phase_trials: Per phase, `None` when the range test's rate was used as is, or the
            `(peak rate, training loss after the phase)` of each trial of a short phase.
    """

    history: dict
    histories: list
    learning_rates: list
    lr_find_results: list
    groups: list
    multipliers: list
    phase_trials: list = dataclasses.field(default_factory=list)


#: A short phase tries the range test's rate and rates below it, this factor apart.
TRIAL_SPACING = math.sqrt(10.0)


def _cycle_momentum(optimizer) -> bool:
    attribute = momentum_attribute(optimizer)
    if attribute == "momentum":
        return bool(unscaled_optimizer(optimizer).momentum)
    return attribute is not None


def _steps_per_epoch(x, batch_size: int) -> int | None:
    """Steps of one epoch for array inputs; `None` when `fit` alone knows (datasets)."""
    length = getattr(x, "shape", None)
    if length is None or not length:
        return None
    return -(-int(length[0]) // batch_size)


def best_trial(rates, losses) -> float:
    """The rate whose trial ended with the lowest finite loss; the lowest rate if none is finite.

    Ties go to the rate listed first (the highest, as `fine_tune` lists them).
    """
    finite = [(loss, i) for i, loss in enumerate(losses) if math.isfinite(loss)]
    if not finite:
        return min(rates)
    return rates[min(finite)[1]]


def _put_back(variables, values) -> None:
    """Assign saved values (after a `fit` or `evaluate`, which leave JAX's state synced)."""
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


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
    phase_trials: int = 5,
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

    **A phase shorter than its range test** (array inputs, fewer steps than the range test
    recorded) gets its rate from trials of the phase itself: the range test's curve at rate `r`
    shows a model that has already trained for every step of the ramp below `r`, often over many
    passes of a small training set, so it tolerates rates that a phase of a few steps, starting
    from the phase's weights, does not (with 50 images and batch 16 the head phase is 4 steps,
    the range test 100: its rate was 1.2-2.0 for Adam, and the head phase ended worse than it
    began). The phase is run, from the same weights and optimizer state each time, at the peaks
    `r_k = r / sqrt(10) ** k`, `k = 0 .. phase_trials - 1` (`r`, the range test's suggestion),
    and the peak whose run ends with the lowest training loss (`model.evaluate` on `x`, `y`) is
    used: `r* = argmin_k L(after the phase at peak r_k)`. Trials never raise the rate above the
    range test's; everything they change is put back before the phase runs. They cost at most
    `phase_trials` times the phase's steps, fewer than `phase_trials` range tests.

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
            a base with general features (ImageNet). On the small digits base of
            docs/transfer.md, ULMFiT's `2.6 ** num_groups` (17.6 for 3 groups), 10 and 1 were
            each within 2 standard errors of 100 over 10 paired seeds, at 10 and at 20 labels
            per class (ULMFiT's rule +0.39 +- 0.20 and +0.09 +- 0.14 points of accuracy), so
            the default stays fastai's.
        pct_start: Fraction of the second phase spent warming up, in (0, 1).
        div_factor: The second phase's 1Cycle starts at its peak rate / `div_factor`, > 0
            (fastai's `fine_tune` uses 5; the first phase keeps 1Cycle's 25).
        batch_size: Batch size for array inputs.
        validation_data: Passed to `fit`.
        callbacks: Further callbacks for both phases' `fit` (not for `lr_find`).
        lr_find_steps: Steps of each range test, >= 5.
        phase_trials: Peak rates tried for a phase with fewer steps than its range test, >= 0;
            0 or 1 uses the range test's rate as is.
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
    phase_trials = check_integer("phase_trials", phase_trials, low=0)
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
    histories, rates, finds, trials = [], [], [], []
    steps_per_epoch = _steps_per_epoch(x, batch_size)

    def run(peak, phase_epochs, initial_epoch, start, div, trial=False):
        cycle = OneCycle(max_lr=peak, pct_start=start, div_factor=div, cycle_momentum=momentum)
        if trial:  # no user callbacks, no validation: only the training loss at the end counts
            args = dict(batch_size=batch_size, verbose=0, callbacks=[cycle])
        else:
            args = dict(fit_args, callbacks=[cycle, *extra])
        end = initial_epoch + phase_epochs
        return model.fit(x, y, epochs=end, initial_epoch=initial_epoch, **args)

    def trial_losses(peaks, *schedule):
        # `layer_rates` has built the optimizer: its slots exist and are put back with the rest.
        state = [*model.variables, *model.optimizer.variables]
        saved = [np.array(ops.convert_to_numpy(v)) for v in state]
        losses = []
        try:
            for peak in peaks:
                run(peak, *schedule, trial=True)
                logs = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
                losses.append(float(logs["loss"]))
                _put_back(state, saved)
        finally:
            _put_back(state, saved)
        return losses

    def phase(multipliers, phase_epochs, initial_epoch, start, div):
        schedule = (phase_epochs, initial_epoch, start, div)
        with layer_rates(model, groups, multipliers):
            found = lr_find(model, x, y, batch_size=batch_size, num_steps=lr_find_steps)
            peak, tried = found.suggestion, None
            short = steps_per_epoch is not None and steps_per_epoch * phase_epochs < len(found.lrs)
            if phase_trials > 1 and short:
                peaks = [peak / TRIAL_SPACING**k for k in range(phase_trials)]
                losses = trial_losses(peaks, *schedule)
                peak, tried = best_trial(peaks, losses), list(zip(peaks, losses, strict=True))
            history = run(peak, *schedule)
        histories.append(history)
        rates.append(peak)
        finds.append(found)
        trials.append(tried)

    if freeze_epochs:
        phase([0.0] * len(groups), freeze_epochs, 0, 0.99, 25.0)
    multipliers = even_multipliers(len(groups), 1.0 / lr_mult)
    phase(multipliers, epochs, freeze_epochs, pct_start, div_factor)
    merged = {}
    for history in histories:
        for key, values in history.history.items():
            merged.setdefault(key, []).extend(values)
    return FineTuneResult(merged, histories, rates, finds, groups, multipliers, trials)
