"""The training recipe: a peak rate (from the LR range test or given), then warm-up + 1Cycle.

The 1Cycle decides when training ends: when the validation loss stops improving it jumps to its
annealing phase, anneals to at most 1/100 of its peak, and stops. Early stopping only keeps the
best weights and stops a run whose loss turns non-finite.

Why this shape (measured with `benchmarks/tabular.py` on ten real tables):

* A 1Cycle planned over the whole budget and cut by early stopping never annealed: the run
  ended near the peak rate, with the weights of an epoch taken at the peak. Jumping to the
  annealing phase on a plateau keeps the cycle's accuracy from annealing in every run.
* Early stopping's ratio test of divergence (validation loss 10x its best) fired on small tables
  (breast cancer, wine), where an overfitting network's validation loss grows 10x from a tiny
  best at the peak rate: the run stopped before annealing. It is off here; non-finite losses
  still stop the run at once.
* Batch 32 on a 28,000-row table is 700 steps per epoch: larger tables get larger batches.
* Early stopping's candidates include the trivial baseline itself (`ConstantOutput`: the
  output kernel at zero, so the network predicts its baseline bias): when no epoch's validation
  loss beats it, that is what the run hands back, never a network below it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from keras_nnperf.progress import EpochProgress

#: A run with fewer optimizer steps than this has no room for a rise and a fall: it trains at a
#: constant rate after a short warm-up instead of a 1Cycle.
MIN_CYCLE_STEPS = 10

#: The epoch budget of a classification run (and of every trial of a search) by default.
EPOCHS = 50

#: The epoch budget of a regression run by default (see `default_epochs`).
REGRESSION_EPOCHS = 100


#: The warning registry of warnings passed on from the LR range test (see `choose_learning_rate`).
_PASSED_ON: dict = {}


class RecipeWarning(UserWarning):
    """Something the recipe worked around (a fallback learning rate); the CLI shows it as a line."""


def default_epochs(task: str) -> int:
    """At most this many epochs for `task` when the user gives none: 100 for regression, else 50.

    The budget sets how slowly the 1Cycle rises (its peak at a quarter of it) and the plateau
    patience (a tenth). `benchmarks/recipe_ablation.py --variants budget_100`, on 38 real
    splits: regression gained (13 splits, mean +0.0085 R², 9 wins, 1 tie, 3 losses: Ecdat's
    Wages +0.045 and +0.050, which had still been improving when its anneal ended), while
    classification did not (25 splits, mean +0.0008, 6 wins, 12 losses: its validation
    cross-entropy is lowest early, then overfits). On the 38 regression splits of the
    held-out, unseen and odd table sets (`benchmarks/tabular.py`), checked after that choice,
    100 epochs won 26, tied 6 and lost 6 (all 47 regression splits of the four sets: 31 / 7 / 9,
    mean +0.005 R²). A regression run takes about 1.8x the epochs.
    """
    return REGRESSION_EPOCHS if task == "regression" else EPOCHS


#: `nnperf fit` averages `SMALL_TABLE_ENSEMBLE` networks on up to `SMALL_TABLE_ROWS` training rows.
SMALL_TABLE_ROWS = 1500
SMALL_TABLE_ENSEMBLE = 3


def default_ensemble(rows: int) -> int:
    """How many networks `nnperf fit` averages when the user says nothing: 3 on small tables.

    Up to `SMALL_TABLE_ROWS` (1,500) training rows, a seed ensemble of 3
    (`keras_nnperf.recipe.ensemble`); above, 1. On a small table one network's score depends
    on its seed by several points, and a run takes seconds, so three cost little.
    `benchmarks/recipe_ablation.py --variants ensemble_3 ensemble_5` on the 25 splits of the
    ablation's tables with up to 1,437 training rows: 3 networks won 13, tied 8 and lost 4
    (mean +0.0042) for 2.1x the time; 5 networks did no better (13 / 7 / 5, mean +0.0032) for
    3.6x. Checked after that choice on 22 small tables of the other sets of
    `benchmarks/tabular.py`, split seed 0 (see docs/benchmarks.md). Larger tables were not
    measured: their runs cost minutes, and their scores vary less with the seed.
    """
    return SMALL_TABLE_ENSEMBLE if rows <= SMALL_TABLE_ROWS else 1


def plateau_patience(epochs: int) -> int:
    """Epochs without a better validation loss before the cycle jumps to its annealing phase.

    A tenth of the budget, at least 3: 5 for the default 50 epochs. Patience 3 at 50 epochs lost
    13 and won 3 of 38 real-table splits (`benchmarks/recipe_ablation.py`): it anneals weights
    that had not finished learning. Patience 8 tied (4 wins, 30 ties, 4 losses, mean -0.0002)
    for 4 more epochs per run: the best epoch mostly comes before the plateau.
    """
    return max(3, epochs // 10)


@dataclass
class LearningRateChoice:
    """The peak learning rate of the run and where it came from.

    Attributes:
        rate: The peak rate.
        rule: `"given"` (passed with `--lr`) or the LR range test's rule (`result.rule`).
        reason: One sentence for the report.
        finder: The `LRFinderResult`, or `None` when the rate was given.
    """

    rate: float
    rule: str
    reason: str
    finder: object = None

    @property
    def source(self) -> str:
        """How the report names the choice."""
        if self.finder is None:
            return "given with --lr"
        return f"LR range test, rule `{self.rule}`"


def choose_learning_rate(model, data, batch_size: int, learning_rate=None, steps: int = 100):
    """`learning_rate` as given, or the LR range test's robust suggestion on `model`.

    Returns:
        A `LearningRateChoice`.
    """
    if learning_rate is not None:
        return LearningRateChoice(float(learning_rate), "given", "given with --lr")
    from keras_nnperf.callbacks.lr_finder import lr_find

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finder = lr_find(model, data.x_train, data.y_train, batch_size=batch_size, num_steps=steps)
    for warning in caught:
        if warning.category is UserWarning:
            # lr_find's own warning (a fallback rate) reads as one of the recipe's.
            warnings.warn(str(warning.message), RecipeWarning, stacklevel=2)
        else:
            # Any other (Keras's numpy-2 DeprecationWarning when it converts a variable) goes on
            # from where it was raised, for the usual filters to decide. Re-raised from here it
            # would read as the caller's own, which Python shows: in a notebook, every fit.
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
                registry=_PASSED_ON,  # "default" filters show each once, as from its origin
            )
    return LearningRateChoice(float(finder.suggestion), finder.rule, finder.reason, finder)


def effective_batch_size(requested: int | None, rows: int) -> int:
    """The batch size used: `requested` (at most the number of rows), or a default for `rows`.

    The default is 32 up to 4,096 training rows, then the power of two that keeps about 128
    steps per epoch, at most 256: small tables get many updates per epoch, large ones do not
    spend minutes on each epoch.
    """
    if requested is not None:
        return max(1, min(int(requested), rows))
    if rows <= 4096:
        return min(32, rows)
    return int(min(256, 2 ** math.floor(math.log2(rows / 128))))


def _cycle_momentum(optimizer) -> bool:
    # OneCycle can only move a momentum the optimizer has: Adam's beta_1 or SGD's momentum > 0.
    from keras_nnperf.callbacks._learning_rate import momentum_attribute
    from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer

    attribute = momentum_attribute(optimizer)
    if attribute == "momentum":
        return float(unscaled_optimizer(optimizer).momentum) > 0
    return attribute is not None


@dataclass
class TrainingRun:
    """What `train_with_recipe` did.

    Attributes:
        history: `History.history`.
        callbacks: The callbacks by role: `"early_stopping"`, `"gradients"`, `"activations"`,
            `"schedule"` (the recorder of the applied rate and momentum), `"cycle"` (the
            `OneCycle`, or `None` for a run too short for one).
        steps: Optimizer steps run.
        planned_steps: Steps the run could have taken (`epochs * steps per epoch`).
        schedule: `"1cycle"` or `"constant"`.
        interrupted: Whether Ctrl-C ended training (see `train_with_recipe`'s
            `keep_on_interrupt`); the best epoch so far was kept.
    """

    history: dict
    callbacks: dict
    steps: int
    planned_steps: int
    schedule: str
    interrupted: bool = False


class ConstantOutput:
    """The network with its output kernel at zero: it predicts its output bias, a constant.

    After `start_at_baseline` the bias is the training target's mean (standardized) or its
    class log-prior, so this is the trivial baseline exactly: its validation loss is that of
    the mean or the class shares, and its accuracy that of the majority class. The network
    itself starts with the kernel at 0.1x (the hidden layers need gradients), a few percent
    of loss away from it.
    """

    def __init__(self, model):
        from keras_nnperf.initializers.baseline import output_head

        try:
            self.head, _ = output_head(model)
        except ValueError:  # no Dense head with a bias: no constant to fall back on
            self.head = None
        self.model = model

    def validation_loss(self, data, batch_size: int) -> float | None:
        """The constant's loss on the validation rows (one pass; the weights are put back)."""
        if self.head is None:
            return None
        import numpy as np
        from keras import ops

        kernel = np.array(ops.convert_to_numpy(self.head.kernel.value))
        try:
            self.apply()
            logs = self.model.evaluate(
                data.x_val, data.y_val, batch_size=batch_size, verbose=0, return_dict=True
            )
        finally:
            self.head.kernel.assign(kernel)
        loss = float(logs["loss"])
        return loss if math.isfinite(loss) else None

    def apply(self) -> None:
        """Zero the output kernel: from now on the network predicts the constant."""
        from keras import ops

        self.head.kernel.assign(ops.zeros(self.head.kernel.shape, self.head.kernel.dtype))


def train_with_recipe(
    model,
    data,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    verbose=1,
    callbacks=(),
    keep_on_interrupt: bool = False,
):
    """Fit with warm-up + 1Cycle peaking at `learning_rate`, monitors and best-weight keeping.

    Args:
        model: A compiled model.
        data: The arrays (`TabularData`).
        epochs: At most this many epochs.
        batch_size: The batch size (at most the number of training rows).
        learning_rate: The peak rate, > 0.
        verbose: 0 (silent) or 1 (one progress bar over the epochs).
        callbacks: More callbacks, run after the recipe's (before the recorder).
        keep_on_interrupt: When Ctrl-C (`KeyboardInterrupt`) ends `fit` after at least one
            epoch, return the run with the best epoch so far (`interrupted=True`, the stopper's
            `stop_reason` `"interrupted"`) instead of raising, as Lightning's `Trainer` ends a
            fit on Ctrl-C: an hour of training is not lost to one key. Before the first epoch
            ends there is nothing to keep, and the interrupt propagates. Defaults to False.

    Returns:
        A `TrainingRun`.

    Raises:
        KeyboardInterrupt: without `keep_on_interrupt`, or before the first epoch ended.
    """
    import keras

    from keras_nnperf.callbacks._recording import AppliedHyperparameters
    from keras_nnperf.callbacks.activation_monitor import ActivationMonitor, activation_name
    from keras_nnperf.callbacks.early_stopping import EarlyStopping
    from keras_nnperf.callbacks.gradient_monitor import GradientMonitor
    from keras_nnperf.callbacks.one_cycle import OneCycle
    from keras_nnperf.callbacks.warmup import WarmUp

    steps_per_epoch = -(-len(data.x_train) // batch_size)
    planned = epochs * steps_per_epoch
    probe = data.x_train[: min(256, len(data.x_train))]
    # The output layer is left out: a confident sigmoid or softmax is meant to saturate.
    hidden = [
        layer.name
        for layer in model.layers[:-1]
        if layer.trainable_weights or activation_name(layer) not in (None, "linear")
    ]
    # Patience never runs out: the cycle ends the run. The stopper keeps the best weights and
    # stops a non-finite run at once. Its ratio test of divergence is off: on a small table the
    # validation loss of an overfitting network easily grows 10x from a tiny best while the
    # rate is high, and stopping there would skip the annealing that recovers it.
    # The constant prediction of the output bias (the trivial baseline's, as the recipe starts
    # there) is a candidate too: on a target the columns cannot predict, every epoch can be
    # worse (river's next-day S&P 500 returns on JAX: R2 -0.045 against the mean's -0.027).
    trivial = ConstantOutput(model)
    start = trivial.validation_loss(data, batch_size)
    stopper = EarlyStopping(patience=epochs + 1, divergence_factor=None, start_value=start)
    roles = {
        "early_stopping": stopper,
        "gradients": GradientMonitor(every_n_steps=1),
        "activations": ActivationMonitor(probe, layers=hidden),
        "schedule": AppliedHyperparameters(capacity=planned),
        "cycle": None,
    }
    model.optimizer.learning_rate = learning_rate
    schedule = [WarmUp(steps=max(1, min(steps_per_epoch, 50, planned // 5)))]
    if planned >= MIN_CYCLE_STEPS:
        roles["cycle"] = OneCycle(
            max_lr=learning_rate,
            cycle_momentum=_cycle_momentum(model.optimizer),
            patience=plateau_patience(epochs),
        )
        schedule = [roles["cycle"], *schedule]
    # Our own History (Keras then adds none): its epochs survive a fit that raises. Right after
    # the stopper, so that an interrupt between them cannot leave one an epoch ahead.
    history = keras.callbacks.History()
    callbacks = [
        *schedule,
        roles["gradients"],
        roles["activations"],
        stopper,
        history,
        EpochProgress(epochs, metrics=("loss", "val_loss"), verbose=verbose),
        *callbacks,
        roles["schedule"],  # last: it records the rate and momentum after every other hook
    ]
    interrupted = False
    try:
        model.fit(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=epochs,
            batch_size=batch_size,
            callbacks=callbacks,
            verbose=0,
        )
    except KeyboardInterrupt:
        if not keep_on_interrupt or not history.history.get("loss"):
            raise
        _end_interrupted_fit(model, stopper)
        interrupted = True
    if stopper.best_epoch == -1:  # no epoch beat the constant: become it (weights restored)
        trivial.apply()
    steps = len(history.history.get("loss", [])) * steps_per_epoch
    return TrainingRun(
        history.history,
        roles,
        steps=steps,
        planned_steps=planned,
        schedule="1cycle" if roles["cycle"] is not None else "constant",
        interrupted=interrupted,
    )


def _end_interrupted_fit(model, stopper) -> None:
    """After Ctrl-C ended `fit`: the best weights back, every callback's hooks removed.

    Inside a step the guards (`fit_guard`) did both already; between steps (in a callback, or
    the activation monitor's probe) Keras called nothing, so they are done here, as the next
    `fit` would do them, and the model is saved as if the callbacks had never been installed.
    """
    from keras_nnperf.optimizers.fit_guard import run_cleanups

    stopper.interrupt()
    run_cleanups(model, stale=True)
