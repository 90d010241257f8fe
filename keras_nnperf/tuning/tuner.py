"""keras-tuner's tuners with the care a long search needs.

Memory freed between trials, failures recorded instead of fatal, a wall-clock budget, one
progress line per trial, and trials that can run in child processes.

`make_tuner("asha" | "random" | "hyperband" | "bayesian", ...)` returns a subclass of the
matching keras-tuner tuner with `TrialCare` mixed in. `"asha"` (the default of `search`) is
keras-tuner's random search with two additions: the first trial trains the template's defaults
(a known-good configuration), and a trial stops at a rung epoch (r, 3r, 9r, ...) unless its
objective so far is in the best third of the trials that reached that rung (asynchronous
successive halving, Li et al., 2020); after the defaults, every other trial is a local move
around the best trial so far instead of a random draw. Everything else (the oracle's files,
`reload`, the distributed chief/worker mode) is keras-tuner's own, so a project directory written
here is an ordinary keras-tuner project.

Where we subclass keras-tuner: `Tuner.run_trial` (public; ours keeps the best epoch's weights in
memory and writes them once per trial instead of at every improving epoch), the oracle's
`populate_space` (public; defaults first, local moves), and two hooks keras-tuner documents as
override points for AutoKeras: `_populate_initial_space` (our templates declare their whole space
without the exploratory model builds) and `_build_hypermodel` (dtype policy). `checkpoint_path`
isolates the one private name we read, `Tuner._get_checkpoint_fname`. `DefaultsFirstOracle`, a
subclass of keras-tuner's oracle, uses what its own random draws use: `_seed_state` (saved with
the oracle, so a resumed search continues the same random stream), `_duplicate` and
`_max_collisions`; `tests/tuning/test_tuner.py` fails if keras-tuner renames them.
"""

from __future__ import annotations

import copy
import gc
import json
import math
import os
import random
import sys
import time

import keras
import keras_tuner

from keras_nnperf.validation import check_bool, check_number

TUNERS = ("asha", "random", "hyperband", "bayesian")

# Successive halving keeps the best 1 / ETA of the trials at each rung (Li et al., 2020).
ETA = 3

TIMING_FILE = "nnperf_trial.json"


class TimeBudgetExhausted(Exception):
    """Raised before a new trial would start once the search's time budget is spent."""


class DeadlineStopping(keras.callbacks.Callback):
    """Stop `fit` at the first batch end after the wall-clock time `deadline` (`time.time()`).

    Keras then still validates the partial epoch and ends it, so the trial is scored on what it
    reached. Checking per batch, not per epoch, bounds how far a search overruns its budget: a
    trial that started just before the deadline (or one with slow epochs) stops after one batch
    instead of one epoch (measured: a 90-s search ran 265 s under heavy load with the epoch
    check).

    The per-batch check makes Keras 3 dispatch batch ends synchronously on JAX and PyTorch (the
    loop waits for each step's logs). Declaring the callback `async_safe` would avoid that, but
    on JAX stopping from Keras's callback thread mid-epoch raced with the next step ("Array has
    been deleted", seen in the suite), so the check stays synchronous: a trial pays one host sync
    per batch, which the search's budget bound is worth. TensorFlow dispatches batch ends
    synchronously anyway.
    """

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = check_number("deadline", deadline)

    def on_train_batch_end(self, batch, logs=None):
        if time.time() >= self.deadline:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if time.time() >= self.deadline:
            self.model.stop_training = True


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop `fit` at the end of the first epoch whose training loss is NaN or infinite.

    Checked per epoch (the epoch logs are Python floats already), unlike Keras's
    `TerminateOnNaN`, which checks every batch and so makes the loop wait for each step's loss.
    The trial is then marked `FAILED` (see `non_finite_loss_epoch`): after a NaN the weights are
    NaN and the predictions constant, so a metric such as accuracy would still give a
    real-looking score.
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True


def non_finite_loss_epoch(history) -> int | None:
    """The first 1-based epoch whose training loss in `history` is not finite, else `None`.

    `history` is what a trial's fit returned: a `keras.callbacks.History`, or anything else
    (a template's own `fit` may return a number), which has no epochs to check.
    """
    losses = getattr(history, "history", None)
    if not isinstance(losses, dict):
        return None
    for epoch, loss in enumerate(losses.get("loss", [])):
        if loss is None or not math.isfinite(float(loss)):
            return epoch + 1
    return None


def forget_traced_step(model) -> None:
    """Let a trial's model go at once: drop the traced step it keeps for its next `fit`."""
    if model is None:
        return
    from keras_nnperf.optimizers.gradient_hooks import forget_last_traced_step

    forget_last_traced_step(model)


def _last_error_line(message: str) -> str:
    from keras_nnperf.tuning.result import error_line

    return error_line(message) or "failed"


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` is TensorFlow's `ResourceExhaustedError` (read without importing TF)."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(error, tf.errors.ResourceExhaustedError):
        return True
    return type(error).__name__ == "ResourceExhaustedError"


def checkpoint_path(tuner, trial_id) -> str:
    """Where keras-tuner keeps a trial's best weights (`get_best_models` and Hyperband read it).

    keras-tuner has no public name for this path; reading it here, in one place, lets a test fail
    if keras-tuner moves it.
    """
    return tuner._get_checkpoint_fname(trial_id)


def rung_epochs(epochs: int, eta: int = ETA) -> list[int]:
    """The epochs at which successive halving compares trials: `r, r*eta, r*eta^2, ... < epochs`.

    `r = max(2, round(epochs / eta^3))` gives up to three rungs whatever the run's length
    (10 epochs: 2, 6; 20 epochs: 2, 6, 18; 50 epochs: 2, 6, 18; 100 epochs: 4, 12, 36).

    No decision falls on the first epoch: a trial starts at the trivial baseline
    (`start_at_baseline`) and under warm-up or 1Cycle at a fraction of its rate, so after one
    epoch many good configurations still predict the majority class (measured in
    `benchmarks/tuning.py` on breast cancer: the defaults' own first epoch scored 0.63, the
    majority rate 0.626, and a trial stopped there at 0.67 reached 0.971, above the search's
    best, when trained on).
    """
    first = max(2, round(epochs / eta**3))
    rungs = []
    rung = first
    while rung < epochs:
        rungs.append(rung)
        rung *= eta
    return rungs


class KeepBestEpoch(keras.callbacks.Callback):
    """Keep the weights of the epoch with the best objective in memory; write them once at the end.

    keras-tuner's own `SaveBestEpoch` writes a weights file at every improving epoch (measured:
    0.07-0.18 s a write on a small MLP, several per trial). Here the best epoch's weights are
    copied to host memory (`get_weights`) and written to `filepath` once, when training ends,
    and not at all when `keep(best)` says a trial with that best value will not be kept (a
    trial worse than the best `keep_checkpoints` ones: its file would be deleted at once).

    Args:
        objective: The search's `keras_tuner.Objective`.
        filepath: Where to write the weights.
        keep: Optional callable `best value -> bool`; `False` skips the write.
    """

    def __init__(self, objective, filepath, keep=None):
        super().__init__()
        self.objective = objective
        self.filepath = filepath
        self.keep = keep
        self.best = -math.inf if objective.direction == "max" else math.inf
        self.best_weights = None
        #: Whether `on_train_end` wrote the weights file.
        self.written = False

    def on_epoch_end(self, epoch, logs=None):
        if self.objective.has_value(logs):
            value = self.objective.get_value(logs)
            if not self.objective.better_than(value, self.best):
                return
            self.best = value
        self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is None:
            return
        if self.keep is not None and math.isfinite(self.best) and not self.keep(self.best):
            self.best_weights = None
            return
        current = self.model.get_weights()
        self.model.set_weights(self.best_weights)
        self.model.save_weights(self.filepath)
        self.model.set_weights(current)
        self.best_weights = None
        self.written = True


class RungStopping(keras.callbacks.Callback):
    """Asynchronous successive halving inside a trial: stop where the trial is not promising.

    At each rung epoch the trial's best objective so far joins `record[rung]`; if at least `eta`
    trials have reached the rung and this one is not among the best `ceil(n / eta)` of them, the
    trial stops (its best epoch so far is what keras-tuner scores), unless it is at least as good
    as the incumbent (the best completed trial) was at the same epoch: a trial on the best
    trial's curve or above it is on its way to the best score, whatever faster starters did.
    One trace and one model per trial: unlike Hyperband, a promoted trial goes on training
    instead of being rebuilt and retrained from a checkpoint.

    Args:
        objective: The search's `keras_tuner.Objective`.
        record: A dict `{rung: [values]}` shared by the trials of a search.
        rungs: The rung epochs, 1-based, e.g. `rung_epochs(epochs)`.
        eta: Keep the best `1 / eta` at each rung.
        incumbent: Optional callable `rung -> value or None`: the incumbent's best objective up
            to that rung epoch (`None` when there is no incumbent or it has no value there).

    Reference:
        Li et al., 2020, "A System for Massively Parallel Hyperparameter Tuning" (ASHA);
        Jamieson & Talwalkar, 2016, "Non-stochastic Best Arm Identification and
        Hyperparameter Optimization" (successive halving).
    """

    def __init__(self, objective, record, rungs, eta=ETA, incumbent=None):
        super().__init__()
        self.objective = objective
        self.record = record
        self.rungs = set(rungs)
        self.eta = eta
        self.incumbent = incumbent
        self.best = None
        self.stopped_at = None
        #: `{rung: best value so far}` at each rung this trial reached.
        self.curve = {}

    def on_epoch_end(self, epoch, logs=None):
        if not self.objective.has_value(logs):
            return
        value = self.objective.get_value(logs)
        if self.best is None or self.objective.better_than(value, self.best):
            self.best = value
        rung = epoch + 1
        if rung not in self.rungs or not math.isfinite(self.best):
            return
        self.curve[rung] = self.best
        values = self.record.setdefault(rung, [])
        values.append(self.best)
        if len(values) < self.eta:
            return
        ranked = sorted(values, reverse=self.objective.direction == "max")
        cutoff = ranked[math.ceil(len(values) / self.eta) - 1]
        if not self.objective.better_than(cutoff, self.best):
            return
        bar = None if self.incumbent is None else self.incumbent(rung)
        if bar is not None and not self.objective.better_than(bar, self.best):
            return  # on the incumbent's curve or above it
        self.stopped_at = rung
        self.model.stop_training = True


class DefaultsFirstOracle(keras_tuner.oracles.RandomSearchOracle):
    """Defaults first, then random trials alternating with local moves around the best trial.

    Trial 0 trains the space's default values (after `hyperparameters` pins), a configuration
    known to work, so a short search is never worse than not searching. After it, trials
    alternate: odd trials are drawn at random over the whole space (keras-tuner's
    `RandomSearchOracle`), even trials are a *local move* from the best completed trial so far
    (the incumbent): one or two of its tunable hyperparameters, chosen at random, take a new
    value, and everything else is kept. In keras-tuner's unit cube (`value_to_prob`, which is
    log-scaled for `sampling="log"`), a numeric or ordered value moves to
    `u' = clip(u + N(0, mutation_scale^2), 0, 1)`; an unordered choice or a boolean takes another
    of its values. A hyperparameter that the move makes active (the momentum when the optimizer
    becomes SGD) starts at its default.

    Why: on real tables most random draws of a wide space train poorly (with `HyperMLP`'s 11
    activations, norms, L1/L2, six optimizers and a 1e-4 to 1e-1 rate, about half the draws
    stopped at the first rung in `benchmarks/tuning.py`), while the defaults are near the best;
    a budget of ten or so trials then rarely improves on them by pure random search. Searching
    around the incumbent spends half the trials where good configurations are, as an
    evolutionary search does (Real et al., 2019), and the random half keeps exploring.

    Args:
        local_search: Alternate random trials with local moves (`False`: defaults first, then
            random trials only).
        mutation_scale: The standard deviation of a numeric move in the unit cube, in (0, 1].
        **kwargs: `keras_tuner.oracles.RandomSearchOracle` arguments.

    Reference:
        Real et al., 2019, "Regularized Evolution for Image Classifier Architecture Search";
        Bergstra & Bengio, 2012, "Random Search for Hyper-Parameter Optimization".
    """

    def __init__(self, *args, local_search=True, mutation_scale=0.15, **kwargs):
        super().__init__(*args, **kwargs)
        self.local_search = check_bool("local_search", local_search)
        self.mutation_scale = check_number(
            "mutation_scale", mutation_scale, low=0.0, high=1.0, low_open=True
        )

    def populate_space(self, trial_id):
        """The defaults while no trial has tried them, then random values and local moves."""
        defaults = self.get_space()
        defaults.ensure_active_values()
        values = dict(defaults.values)
        tried = [trial.hyperparameters.values for trial in self.trials.values()]
        if values and values not in tried:
            return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING, "values": values}
        if self.local_search and len(self.trials) % 2 == 0:
            best = self.get_best_trials(1)
            if best and best[0].score is not None:
                for _ in range(self._max_collisions):
                    moved = self.local_move(best[0].hyperparameters.values)
                    if moved is not None and not self._duplicate(moved):
                        return {
                            "status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                            "values": moved,
                        }
        return super().populate_space(trial_id)

    def local_move(self, parent: dict) -> dict | None:
        """`parent` with one or two tunable hyperparameters moved (see the class docstring).

        Returns `None` when the space has nothing tunable to move.
        """
        rng = random.Random(self._seed_state)
        self._seed_state += 1
        hps = keras_tuner.HyperParameters()
        active = []
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if hps.is_active(hp):
                active.append(hp)
        tunable = [hp for hp in active if _can_move(hp)]
        if not tunable:
            return None
        chosen = {hp.name for hp in rng.sample(tunable, min(len(tunable), rng.choice((1, 2))))}
        hps = keras_tuner.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            value = parent.get(hp.name, hp.default)
            if hp.name in chosen:
                value = _moved_value(hp, value, rng, self.mutation_scale)
            hps.values[hp.name] = value
        return hps.values


def _can_move(hp) -> bool:
    if isinstance(hp, keras_tuner.engine.hyperparameters.Fixed):
        return False
    return not (isinstance(hp, keras_tuner.engine.hyperparameters.Choice) and len(hp.values) < 2)


def _moved_value(hp, value, rng, scale):
    """A value of `hp` near `value` and different from it (when `hp` has another value)."""
    kinds = keras_tuner.engine.hyperparameters
    if isinstance(hp, kinds.Boolean):
        return not value
    if isinstance(hp, kinds.Choice) and not hp.ordered:
        return rng.choice([v for v in hp.values if v != value])
    start = hp.value_to_prob(value)
    moved = value
    for _ in range(20):  # a step or a rounding can land on the same value: try again
        prob = min(max(start + rng.gauss(0.0, scale), 0.0), 1.0 - 1e-9)
        moved = hp.prob_to_value(prob)
        if moved != value:
            break
    return moved


class TrialCare:
    """Mixin for a keras-tuner `Tuner`: lean trials, failure recording, budget and progress.

    * Per-trial overhead cut: the best epoch's weights are kept in memory and written once per
      trial (`KeepBestEpoch`, instead of keras-tuner's write at every improving epoch); no
      per-batch tuner callback; a template that declares its whole space
      (`declares_complete_space`) is not built once per conditional branch before the search.
    * `rungs`, when set, stops unpromising trials at those epochs (`RungStopping`).
    * keras-tuner clears the Keras session before building each trial's model; the search's
      end clears it once more (`keras.backend.clear_session()`, `gc.collect()`), so the last
      trial's graph and weights do not linger.
    * A trial that runs out of memory raises `keras_tuner.errors.FailedTrialError`: it is recorded
      `FAILED` with its message and not retried, and the search goes on. Any other exception is
      recorded by keras-tuner (`INVALID`, retried `max_retries_per_trial` times, then `FAILED`).
    * With `deadline` set, no trial starts after it (`TimeBudgetExhausted` ends the search loop).
    * `trial_runner`, when set, runs each trial instead of fitting in-process (process isolation).
    * Each trial's wall-clock seconds go to `nnperf_trial.json` in its trial directory, and
      `verbose >= 1` prints one line per trial: status, score, seconds, best so far.
    * With `dtype_policy` set (`"mixed_float16"`), every model is built under it: keras-tuner
      calls `keras.backend.clear_session()` before each build, which resets Keras's global
      dtype policy to float32.
    * A trial whose training loss became NaN or infinite stops at that epoch's end and is
      recorded `FAILED` (`NonFiniteLossError`), not `COMPLETED` with a score of NaN weights.
    * With `keep_checkpoints = k`, only the best k ended trials keep their weights file.
    * TensorBoard is imported only when a `TensorBoard` callback is used (keras-tuner imports it
      in every trial, which breaks on installs without it).
    """

    deadline: float | None = None
    trial_runner = None
    progress_verbose: int = 1
    dtype_policy: str | None = None
    rungs: tuple = ()
    #: Keep the weights of the best this-many trials (`None`: all); the others' are deleted
    #: when a trial ends. `get_best_models(k)` needs `k <= keep_checkpoints`.
    keep_checkpoints: int | None = None

    def on_search_begin(self):
        super().on_search_begin()
        self._search_started = time.perf_counter()
        self._trial_seconds = {}
        self._rung_record = {}
        self._rung_curves = {}
        #: `{trial_id: epoch}` of the trials successive halving stopped.
        self.pruned = {}

    def on_search_end(self):
        super().on_search_end()
        keras.backend.clear_session()
        gc.collect()

    def _populate_initial_space(self):
        # keras-tuner builds the model once per conditional branch to discover the space (16
        # builds for HyperMLP); a template that declares every branch needs none of them.
        if getattr(self.hypermodel, "declares_complete_space", False):
            hp = self.oracle.get_space()
            self.hypermodel.declare_hyperparameters(hp)
            self.oracle.update_space(hp)
            return
        super()._populate_initial_space()

    def pre_create_trial(self):
        super().pre_create_trial()
        if self.deadline is not None and time.time() >= self.deadline:
            raise TimeBudgetExhausted("The search's time budget is spent.")

    def run_trial(self, trial, *args, **kwargs):
        started = time.perf_counter()
        try:
            if self.trial_runner is not None:
                history = self.trial_runner(self, trial, *args, **kwargs)
            else:
                history = self._fit_trial(trial, *args, **kwargs)
            epoch = non_finite_loss_epoch(history)
            if epoch is not None:
                raise keras_tuner.errors.FailedTrialError(
                    f"NonFiniteLossError: the training loss became NaN or infinite at epoch "
                    f"{epoch}; the trial's scores after it are not real."
                )
            return history
        except Exception as error:
            if is_out_of_memory(error):
                raise keras_tuner.errors.FailedTrialError(
                    f"Out of memory ({type(error).__name__}): {error}"
                ) from error
            raise
        finally:
            seconds = time.perf_counter() - started
            self._record_seconds(trial.trial_id, seconds)

    def _fit_trial(self, trial, *args, **kwargs):
        """keras-tuner's `Tuner.run_trial` for one execution, with the lean callbacks."""
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:  # Hyperband sets each round's length.
            kwargs["epochs"] = values["tuner/epochs"]
            kwargs["initial_epoch"] = values["tuner/initial_epoch"]
        objective = self.oracle.objective
        callbacks = copy.deepcopy(list(kwargs.pop("callbacks", None) or []))
        self._configure_tensorboard_dir(callbacks, trial)
        keep = None if self.keep_checkpoints is None else self._could_be_kept
        callbacks.append(KeepBestEpoch(objective, checkpoint_path(self, trial.trial_id), keep))
        callbacks.append(StopOnNonFiniteLoss())
        pruning = None
        if self.rungs:
            if not hasattr(self, "_rung_record"):
                self._rung_record, self.pruned = {}, {}
            pruning = RungStopping(
                objective, self._rung_record, self.rungs, incumbent=self._incumbent_at
            )
            callbacks.append(pruning)
        history = self._build_and_fit_model(trial, *args, callbacks=callbacks, **kwargs)
        forget_traced_step(getattr(history, "model", None))
        if pruning is not None:
            self.__dict__.setdefault("_rung_curves", {})[trial.trial_id] = pruning.curve
            if pruning.stopped_at is not None:
                self.pruned[trial.trial_id] = pruning.stopped_at
        return history

    def _incumbent_at(self, rung):
        """The best completed trial's best objective up to epoch `rung`, or `None`."""
        best = [t for t in self.oracle.get_best_trials(1) if t.score is not None]
        if not best or str(best[0].status) != "COMPLETED":
            return None
        return self.__dict__.get("_rung_curves", {}).get(best[0].trial_id, {}).get(rung)

    def _build_hypermodel(self, hp):
        if self.dtype_policy is not None:
            keras.config.set_dtype_policy(self.dtype_policy)
        return super()._build_hypermodel(hp)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.keep_checkpoints is not None:
            self._prune_checkpoints()
        if self.progress_verbose < 1:
            return
        objective = self.oracle.objective.name
        ended = self.oracle.get_trial(trial.trial_id)
        score = "" if ended.score is None else f" {objective}={ended.score:.4f}"
        if ended.score is None and ended.message:
            score = f" ({_last_error_line(ended.message)})"
        best = self.oracle.get_best_trials(1)
        best_score = best[0].score if best and best[0].score is not None else None
        best_text = "none yet" if best_score is None else f"{best_score:.4f}"
        seconds = getattr(self, "_trial_seconds", {}).get(trial.trial_id, float("nan"))
        elapsed = time.perf_counter() - getattr(self, "_search_started", time.perf_counter())
        rung = getattr(self, "pruned", {}).get(trial.trial_id)
        pruned = "" if rung is None else f" (stopped at rung epoch {rung})"
        print(
            f"[{self.tuner_id}] trial {trial.trial_id} {ended.status}{score}{pruned} in "
            f"{seconds:.1f} s | best {objective} {best_text} | elapsed {elapsed:.0f} s",
            flush=True,
        )

    def _could_be_kept(self, value) -> bool:
        """Whether a trial scoring `value` can be among the best `keep_checkpoints` trials.

        False only when `keep_checkpoints` trials have ended with a strictly better score: the
        best-k set only improves, so such a trial's weights would be pruned when it ends.
        """
        best = self.oracle.get_best_trials(self.keep_checkpoints)
        scores = [t.score for t in best if t.score is not None]
        if len(scores) < self.keep_checkpoints:
            return True
        worst_kept = scores[-1]
        return not self.oracle.objective.better_than(worst_kept, value)

    def _prune_checkpoints(self):
        """Delete the weights of ended trials outside the best `keep_checkpoints`.

        Safe with parallel workers: the best-k set only improves as trials end, so an ended
        trial outside it never re-enters it; running trials are never touched.
        """
        ended = ("COMPLETED", "FAILED")
        best = {t.trial_id for t in self.oracle.get_best_trials(self.keep_checkpoints)}
        pruned = self.__dict__.setdefault("_pruned_checkpoints", set())
        for name in sorted(os.listdir(self.project_dir)):
            trial_id = name.removeprefix("trial_")
            if not name.startswith("trial_") or trial_id in best or trial_id in pruned:
                continue
            path = checkpoint_path(self, trial_id)
            if not os.path.exists(path):
                continue
            try:
                status = str(self.oracle.get_trial(trial_id).status)
            except (KeyError, ValueError):
                continue
            if status in ended:
                os.remove(path)
                pruned.add(trial_id)

    def _record_seconds(self, trial_id, seconds):
        if not hasattr(self, "_trial_seconds"):
            self._trial_seconds = {}
        self._trial_seconds[trial_id] = self._trial_seconds.get(trial_id, 0.0) + seconds
        path = os.path.join(self.get_trial_dir(trial_id), TIMING_FILE)
        record = {
            "elapsed_seconds": self._trial_seconds[trial_id],
            "tuner_id": self.tuner_id,
            "stopped_at": getattr(self, "pruned", {}).get(trial_id),
        }
        with open(path, "w") as file:
            json.dump(record, file)

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


class SuccessiveHalving(TrialCare, keras_tuner.Tuner):
    """Defaults first, then random draws and local moves, stopped at rungs unless in the top third.

    Args:
        hypermodel: A keras-tuner `HyperModel`.
        objective: The objective name or `keras_tuner.Objective`.
        max_trials: The most trials to run.
        epochs: Epochs per trial (the rungs are `rung_epochs(epochs)`).
        seed: The oracle's random seed.
        hyperparameters: A `HyperParameters` with values to pin.
        tune_new_entries: Whether hyperparameters not in `hyperparameters` are searched.
        max_consecutive_failed_trials: Stop the search after this many failures in a row.
        **kwargs: `keras_tuner.Tuner` arguments (`directory`, `project_name`, ...).

    Reference:
        Li et al., 2020, "A System for Massively Parallel Hyperparameter Tuning".
    """

    def __init__(
        self,
        hypermodel,
        objective,
        max_trials,
        epochs,
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        oracle = DefaultsFirstOracle(
            objective=objective,
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.rungs = tuple(rung_epochs(epochs))


class RandomSearch(TrialCare, keras_tuner.RandomSearch):
    """keras-tuner's `RandomSearch` with `TrialCare`."""


class Hyperband(TrialCare, keras_tuner.Hyperband):
    """keras-tuner's `Hyperband` with `TrialCare`."""


class BayesianOptimization(TrialCare, keras_tuner.BayesianOptimization):
    """keras-tuner's `BayesianOptimization` with `TrialCare`."""


def make_tuner(
    kind,
    hypermodel,
    objective,
    max_trials,
    epochs,
    directory,
    project_name,
    overwrite=False,
    seed=None,
    hyperparameters=None,
    distribution_strategy=None,
    max_consecutive_failed_trials=3,
):
    """Create a `TrialCare` tuner by name.

    Args:
        kind: `"asha"` (defaults first, then random draws and local moves around the best
            trial, with successive-halving stops), `"random"`, `"hyperband"` or `"bayesian"`.
        hypermodel: A keras-tuner `HyperModel`.
        objective: The objective name or `keras_tuner.Objective`.
        max_trials: The most trials to run (Hyperband is capped at this too).
        epochs: Epochs per trial (Hyperband's `max_epochs`).
        directory: The project's parent directory.
        project_name: The project's directory name.
        overwrite: Start afresh instead of resuming an existing project.
        seed: The oracle's random seed.
        hyperparameters: A `HyperParameters` with values to pin (`hp.Fixed`).
        distribution_strategy: A `tf.distribute.Strategy` to build and train every trial under.
        max_consecutive_failed_trials: Stop the search after this many failures in a row.

    Returns:
        The tuner.

    Raises:
        ValueError: for an unknown `kind`.
    """
    common = {
        "hypermodel": hypermodel,
        "objective": objective,
        "seed": seed,
        "hyperparameters": hyperparameters,
        "tune_new_entries": True,
        "max_consecutive_failed_trials": max_consecutive_failed_trials,
        "distribution_strategy": distribution_strategy,
        "directory": directory,
        "project_name": project_name,
        "overwrite": overwrite,
    }
    if kind == "asha":
        return SuccessiveHalving(max_trials=max_trials, epochs=epochs, **common)
    if kind == "random":
        return RandomSearch(max_trials=max_trials, **common)
    if kind == "bayesian":
        return BayesianOptimization(max_trials=max_trials, **common)
    if kind == "hyperband":
        tuner = Hyperband(max_epochs=max(epochs, 2), factor=3, hyperband_iterations=1, **common)
        # Hyperband counts brackets, not trials; cap it so budgets compare across tuners.
        tuner.oracle.max_trials = max_trials
        return tuner
    raise ValueError(f"Argument tuner must be one of {list(TUNERS)}. Received: tuner={kind!r}")
