"""keras-tuner's tuners with the care a long search needs.

Memory freed between trials, failures recorded instead of fatal, a wall-clock budget, one
progress line per trial, and trials that can run in child processes.

`make_tuner("random" | "hyperband" | "bayesian", ...)` returns a subclass of the matching
keras-tuner tuner with `TrialCare` mixed in. Everything else (the oracle, its files, `reload`,
the distributed chief/worker mode) is keras-tuner's own, so a project directory written here is
an ordinary keras-tuner project.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

import keras
import keras_tuner

TUNERS = ("random", "hyperband", "bayesian")

TIMING_FILE = "nnperf_trial.json"


class TimeBudgetExhausted(Exception):
    """Raised before a new trial would start once the search's time budget is spent."""


class DeadlineStopping(keras.callbacks.Callback):
    """Stop `fit` at the first epoch end after the wall-clock time `deadline` (`time.time()`)."""

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = float(deadline)

    def on_epoch_end(self, epoch, logs=None):
        if time.time() >= self.deadline:
            self.model.stop_training = True


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` is TensorFlow's `ResourceExhaustedError` (read without importing TF)."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(error, tf.errors.ResourceExhaustedError):
        return True
    return type(error).__name__ == "ResourceExhaustedError"


class TrialCare:
    """Mixin for a keras-tuner `Tuner`: clean-up, failure recording, budget and progress.

    * After every trial, `keras.backend.clear_session()` and `gc.collect()` (keras-tuner clears
      only before building the next model, so the last trial's graph and weights lingered).
    * A trial that runs out of memory raises `keras_tuner.errors.FailedTrialError`: it is recorded
      `FAILED` with its message and not retried, and the search goes on. Any other exception is
      recorded by keras-tuner (`INVALID`, retried `max_retries_per_trial` times, then `FAILED`).
    * With `deadline` set, no trial starts after it (`TimeBudgetExhausted` ends the search loop).
    * `trial_runner`, when set, runs each trial instead of `Tuner.run_trial` (process isolation).
    * Each trial's wall-clock seconds go to `nnperf_trial.json` in its trial directory, and
      `verbose >= 1` prints one line per trial: status, score, seconds, best so far.
    * With `dtype_policy` set (`"mixed_float16"`), every model is built under it: keras-tuner
      calls `keras.backend.clear_session()` before each build, which resets Keras's global
      dtype policy to float32.
    * TensorBoard is imported only when a `TensorBoard` callback is used (keras-tuner imports it
      in every trial, which breaks on installs without it).
    """

    deadline: float | None = None
    trial_runner = None
    progress_verbose: int = 1
    dtype_policy: str | None = None

    def on_search_begin(self):
        super().on_search_begin()
        self._search_started = time.perf_counter()
        self._trial_seconds = {}

    def pre_create_trial(self):
        super().pre_create_trial()
        if self.deadline is not None and time.time() >= self.deadline:
            raise TimeBudgetExhausted("The search's time budget is spent.")

    def run_trial(self, trial, *args, **kwargs):
        started = time.perf_counter()
        try:
            if self.trial_runner is not None:
                return self.trial_runner(self, trial, *args, **kwargs)
            return super().run_trial(trial, *args, **kwargs)
        except Exception as error:
            if is_out_of_memory(error):
                raise keras_tuner.errors.FailedTrialError(
                    f"Out of memory ({type(error).__name__}): {error}"
                ) from error
            raise
        finally:
            seconds = time.perf_counter() - started
            self._record_seconds(trial.trial_id, seconds)
            keras.backend.clear_session()
            gc.collect()

    def _build_hypermodel(self, hp):
        if self.dtype_policy is not None:
            keras.config.set_dtype_policy(self.dtype_policy)
        return super()._build_hypermodel(hp)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.progress_verbose < 1:
            return
        objective = self.oracle.objective.name
        ended = self.oracle.get_trial(trial.trial_id)
        score = "" if ended.score is None else f" {objective}={ended.score:.4f}"
        best = self.oracle.get_best_trials(1)
        best_score = best[0].score if best and best[0].score is not None else None
        best_text = "none yet" if best_score is None else f"{best_score:.4f}"
        seconds = getattr(self, "_trial_seconds", {}).get(trial.trial_id, float("nan"))
        elapsed = time.perf_counter() - getattr(self, "_search_started", time.perf_counter())
        print(
            f"[{self.tuner_id}] trial {trial.trial_id} {ended.status}{score} in {seconds:.1f} s"
            f" | best {objective} {best_text} | elapsed {elapsed:.0f} s",
            flush=True,
        )

    def _record_seconds(self, trial_id, seconds):
        if not hasattr(self, "_trial_seconds"):
            self._trial_seconds = {}
        self._trial_seconds[trial_id] = self._trial_seconds.get(trial_id, 0.0) + seconds
        path = os.path.join(self.get_trial_dir(trial_id), TIMING_FILE)
        with open(path, "w") as file:
            json.dump(
                {"elapsed_seconds": self._trial_seconds[trial_id], "tuner_id": self.tuner_id}, file
            )

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


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
        kind: `"random"`, `"hyperband"` or `"bayesian"`.
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
