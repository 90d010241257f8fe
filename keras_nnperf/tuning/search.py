"""`search(...)`: one call that runs a keras-tuner search that is fast and does not fall over."""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import tempfile
import time
import warnings

import keras
import keras_tuner

from keras_nnperf.registry import snake_case
from keras_nnperf.tuning._validation import check_one_of, check_positive_int
from keras_nnperf.tuning.result import SearchResult, load_trials, trial_results
from keras_nnperf.tuning.tuner import (
    TUNERS,
    DeadlineStopping,
    TimeBudgetExhausted,
    make_tuner,
)

ISOLATION = ("none", "process")


def search(
    template,
    x,
    y=None,
    validation_data=None,
    validation_split=0.2,
    tuner="asha",
    objective=None,
    max_trials=10,
    epochs=10,
    time_budget=None,
    directory="nnperf_search",
    project_name=None,
    overwrite=False,
    seed=None,
    hyperparameters=None,
    distribution_strategy=None,
    mixed_precision=False,
    jit_compile="auto",
    trial_isolation="none",
    workers=1,
    max_consecutive_failed_trials=3,
    verbose=1,
) -> SearchResult:
    """Search `template`'s hyperparameters with a keras-tuner tuner and return what was found.

    Around keras-tuner's own search this adds: `keras.backend.clear_session()` and `gc.collect()`
    after every trial; out-of-memory trials (and, with process isolation, any failing trial)
    recorded `FAILED` with their error while the search goes on; a wall-clock `time_budget`
    (no trial starts after it, the running one stops at its next epoch end); resuming (the same
    `directory` and `project_name` with `overwrite=False` continues a project: completed trials
    are kept and not re-run, `max_trials` counts them); mixed precision; trials in child
    processes; and `workers` parallel trials on this machine through keras-tuner's chief/worker
    mode. When `KERASTUNER_TUNER_ID` is set (a multi-machine search), this call just plays that
    role: the chief serves the oracle and returns the full result; a worker runs trials and
    returns the results visible in the (shared) project directory, without a model.

    Args:
        template: A keras-tuner `HyperModel` (`HyperMLP`, `HyperCNN`, or your own). It must be
            picklable for `trial_isolation="process"` and `workers > 1`.
        x: Training inputs (NumPy arrays; a `tf.data.Dataset` works in-process).
        y: Training targets.
        validation_data: `(x_val, y_val)`; else `validation_split` of `x` is held out.
        validation_split: Fraction held out when `validation_data` is `None`, in (0, 1).
        tuner: `"asha"` (default: the template's defaults first, then random trials, each
            stopped at a rung epoch unless in the best third of the trials that reached it),
            `"random"`, `"hyperband"`, `"bayesian"`, or a keras-tuner `Tuner` instance (which
            runs with its own oracle, directory and strategy).
        objective: The metric to optimise; defaults to `template.objective` (`val_accuracy` for
            classification templates, `val_loss` otherwise).
        max_trials: The most trials in the project, completed ones from earlier runs included.
        epochs: Epochs per trial (Hyperband's maximum).
        time_budget: Seconds after which no new trial starts, or `None`.
        directory: The directory holding the project.
        project_name: The project's name; defaults to the template's class name in snake case.
        overwrite: Start afresh instead of resuming.
        seed: Seeds the oracle and `keras.utils.set_random_seed`.
        hyperparameters: A `keras_tuner.HyperParameters` pinning values (`hp.Fixed`); the rest
            are still tuned.
        distribution_strategy: A `tf.distribute.Strategy` to build and train every trial under
            (e.g. `MirroredStrategy` over the GPUs); not with process isolation or workers.
        mixed_precision: Use the `mixed_float16` policy during the search (restored after).
        jit_compile: `"auto"`, `True` or `False`, set on templates that take it.
        trial_isolation: `"none"` or `"process"` (every trial in a spawned child process).
        workers: Parallel trials on this machine (one per GPU when there are GPUs).
        max_consecutive_failed_trials: Stop with an error after this many failures in a row.
        verbose: 0 silent, 1 one line per trial, 2 also one line per epoch.

    Returns:
        A `SearchResult`. Its `best_model` holds the best trial's best-epoch weights, so it
        scores the recorded best on the validation data; `best_recipe()` says how it trained.

    Raises:
        ValueError: for an invalid argument or combination (the message names it).
        ImportError: for `workers > 1` without `grpcio`.
        RuntimeError: when `max_consecutive_failed_trials` trials failed in a row.

    Example:
    ```python
    x, y = sklearn.datasets.load_breast_cancer(return_X_y=True)
    result = search(HyperMLP(num_features=30), x, y, tuner="random", max_trials=10, epochs=20)
    print(result.best_hyperparameters.values)
    ```

    Reference:
        O'Malley et al., 2019, KerasTuner; Li et al., 2020, "A System for Massively Parallel
        Hyperparameter Tuning" (ASHA); Li et al., 2018, "Hyperband"; Bergstra & Bengio, 2012,
        "Random Search for Hyper-Parameter Optimization".
    """
    is_instance = isinstance(tuner, keras_tuner.Tuner)
    if not is_instance:
        check_one_of("tuner", tuner, TUNERS)
    check_one_of("trial_isolation", trial_isolation, ISOLATION)
    check_positive_int("max_trials", max_trials)
    check_positive_int("epochs", epochs)
    check_positive_int("workers", workers)
    check_positive_int("max_consecutive_failed_trials", max_consecutive_failed_trials)
    check_one_of("jit_compile", jit_compile, ("auto", True, False))
    check_one_of("mixed_precision", mixed_precision, (True, False))
    check_one_of("verbose", verbose, (0, 1, 2))
    if time_budget is not None and (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, (int, float))
        or time_budget <= 0
    ):
        raise ValueError(f"Argument time_budget must be > 0 seconds. Received: {time_budget=!r}")
    if validation_data is None and not 0.0 < validation_split < 1.0:
        raise ValueError(
            "Give validation_data or a validation_split in (0, 1): the objective is measured on "
            f"held-out data. Received: validation_split={validation_split!r}"
        )
    if distribution_strategy is not None and (trial_isolation != "none" or workers > 1):
        raise ValueError(
            "A distribution_strategy object cannot be sent to child processes; use it with "
            "trial_isolation='none' and workers=1. "
            f"Received: trial_isolation={trial_isolation!r}, workers={workers!r}"
        )
    if is_instance:
        given = {
            "objective": objective,
            "seed": seed,
            "hyperparameters": hyperparameters,
            "distribution_strategy": distribution_strategy,
            "project_name": project_name,
        }
        extra = {k: v for k, v in given.items() if v is not None}
        if extra or trial_isolation != "none" or workers > 1 or mixed_precision:
            raise ValueError(
                "A tuner instance runs with its own settings; leave objective, seed, "
                "hyperparameters, distribution_strategy, project_name at None and use "
                "trial_isolation='none', workers=1, mixed_precision=False (or pass the tuner's "
                f"name instead). Received: {extra}, trial_isolation={trial_isolation!r}, "
                f"workers={workers!r}, mixed_precision={mixed_precision!r}"
            )
        template = tuner.hypermodel
    if jit_compile != "auto":
        if not hasattr(template, "jit_compile"):
            raise ValueError(
                f"The template {type(template).__name__} takes no jit_compile. "
                f"Received: jit_compile={jit_compile!r}"
            )
        # deepcopy rebinds the `_build` method keras-tuner stores on the instance; copy would not.
        template = copy.deepcopy(template)
        template.jit_compile = jit_compile
    settings = {
        "tuner": tuner,
        "objective": objective or getattr(template, "objective", "val_loss"),
        "max_trials": max_trials,
        "epochs": epochs,
        "deadline": None if time_budget is None else time.time() + time_budget,
        "directory": str(directory),
        "project_name": project_name or snake_case(type(template).__name__),
        "seed": seed,
        "hyperparameters": hyperparameters,
        "distribution_strategy": distribution_strategy,
        "dtype_policy": "mixed_float16" if mixed_precision else keras.config.dtype_policy().name,
        "trial_isolation": trial_isolation,
        "max_consecutive_failed_trials": max_consecutive_failed_trials,
        "verbose": verbose,
        "validation_split": validation_split,
    }
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if workers > 1 and "KERASTUNER_TUNER_ID" not in os.environ:
        if is_instance:
            raise ValueError("workers > 1 needs a tuner name, not a tuner instance.")
        from keras_nnperf.tuning.distributed import run_workers

        project_dir = os.path.join(settings["directory"], settings["project_name"])
        if overwrite and os.path.exists(project_dir):
            import shutil

            shutil.rmtree(project_dir)
        run_workers(template, x, y, validation_data, settings, workers)
        with _dtype_policy(settings["dtype_policy"]):
            tuner_object = _make(template, {**settings, "verbose": 0}, overwrite=False)
            return _collect(tuner_object, settings)
    return run_search(template, x, y, validation_data, settings, overwrite=overwrite)


def run_search(template, x, y, validation_data, settings, overwrite=False, collect=True):
    """Run the search in this process, as a single tuner or as the role set in the environment.

    `settings` is the dict `search` assembles from its arguments; with `collect=False` the
    result is not assembled (a launched chief or worker only has to run).
    """
    role = os.environ.get("KERASTUNER_TUNER_ID")
    distributed = "KERASTUNER_ORACLE_IP" in os.environ and role is not None
    with _dtype_policy(settings["dtype_policy"]), contextlib.ExitStack() as stack:
        tuner = _make(template, settings, overwrite=overwrite)
        if settings["trial_isolation"] == "process":
            from keras_nnperf.tuning.isolation import ProcessIsolation, write_arrays

            temp = stack.enter_context(tempfile.TemporaryDirectory(prefix="nnperf_trials_"))
            data = write_arrays(os.path.join(temp, "data.npz"), x, y, validation_data)
            tuner.trial_runner = ProcessIsolation(
                data, settings["dtype_policy"], settings["seed"], settings["deadline"]
            )
        fit_kwargs = {"epochs": settings["epochs"], "verbose": 2 if settings["verbose"] >= 2 else 0}
        if validation_data is not None:
            fit_kwargs["validation_data"] = validation_data
        else:
            fit_kwargs["validation_split"] = settings["validation_split"]
        if settings["deadline"] is not None:
            fit_kwargs["callbacks"] = [DeadlineStopping(settings["deadline"])]
        stack.enter_context(_frozen_heap())
        try:
            tuner.search(x, y, **fit_kwargs)
        except TimeBudgetExhausted:
            if settings["verbose"]:
                print("Time budget spent: no new trial started.", flush=True)
        if not collect:
            return None
        if distributed and "chief" not in role:
            # A worker does not own the oracle: report what the shared project directory holds.
            trials = load_trials(tuner.project_dir)
            return SearchResult(
                best_model=None,
                best_hyperparameters=None,
                results=trial_results(trials, tuner.project_dir),
                objective=tuner.oracle.objective.name,
                direction=tuner.oracle.objective.direction,
                epochs=settings["epochs"],
            )
        return _collect(tuner, settings)


def _make(template, settings, overwrite):
    tuner = settings["tuner"]
    if not isinstance(tuner, str):
        return tuner
    hyperparameters = settings["hyperparameters"]
    if isinstance(hyperparameters, dict):  # Sent to launched processes as a config.
        hyperparameters = keras_tuner.HyperParameters.from_config(hyperparameters)
    tuner = make_tuner(
        tuner,
        template,
        objective=settings["objective"],
        max_trials=settings["max_trials"],
        epochs=settings["epochs"],
        directory=settings["directory"],
        project_name=settings["project_name"],
        overwrite=overwrite,
        seed=settings["seed"],
        hyperparameters=hyperparameters,
        distribution_strategy=settings["distribution_strategy"],
        max_consecutive_failed_trials=settings["max_consecutive_failed_trials"],
    )
    tuner.progress_verbose = settings["verbose"]
    tuner.deadline = settings["deadline"]
    tuner.dtype_policy = settings["dtype_policy"]
    return tuner


def _collect(tuner, settings) -> SearchResult:
    oracle = tuner.oracle
    results = trial_results(oracle.trials, tuner.project_dir)
    completed = [r for r in results if r["status"] == "COMPLETED" and r["score"] is not None]
    best_model = best_hyperparameters = best_trial_id = None
    if completed:
        best_trial_id = oracle.get_best_trials(1)[0].trial_id
        best_hyperparameters = tuner.get_best_hyperparameters(1)[0]
        with warnings.catch_warnings():
            # The checkpoint holds the trained optimizer's slots; the rebuilt model needs none.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            best_model = tuner.get_best_models(1)[0]
    return SearchResult(
        best_model=best_model,
        best_hyperparameters=best_hyperparameters,
        results=results,
        objective=oracle.objective.name,
        direction=oracle.objective.direction,
        tuner=tuner,
        best_trial_id=best_trial_id,
        epochs=settings["epochs"],
    )


@contextlib.contextmanager
def _frozen_heap():
    """Keep the heap that exists before the search out of garbage collection during it.

    keras-tuner runs two full collections before every trial (`clear_session()` and
    `gc.collect()`); with TensorFlow's and Keras's import heap each took 0.2-0.4 s on a 2-core
    machine (1.9 s under load), most of a small trial's overhead. `gc.freeze()` moves the
    objects alive now to the permanent generation, so those collections only scan what the
    search creates; `gc.unfreeze()` returns them afterwards. A caller that froze the heap itself
    keeps its own arrangement.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
