"""`search(...)`: one call that runs a keras-tuner search that is fast and does not fall over."""

from __future__ import annotations

import ast
import contextlib
import copy
import gc
import hashlib
import inspect
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings

import keras
import keras_tuner
import numpy as np

from keras_nnperf.registry import snake_case
from keras_nnperf.tuning._validation import check_auto_or_bool
from keras_nnperf.tuning.result import SearchResult, load_trials, trial_results
from keras_nnperf.tuning.tuner import (
    TUNERS,
    DeadlineStopping,
    TimeBudgetExhausted,
    make_tuner,
)
from keras_nnperf.validation import check_bool, check_choice, check_integer, check_number

ISOLATION = ("none", "process")

#: The file in a project directory recording what the search ran on (see `fingerprint`).
FINGERPRINT_FILE = "nnperf_fingerprint.json"


def default_directory() -> str:
    """Where searches go without a `directory`: `$XDG_CACHE_HOME/keras_nnperf/search`.

    (`~/.cache/keras_nnperf/search` when `XDG_CACHE_HOME` is unset), out of the working folder.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "keras_nnperf", "search")


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
    directory=None,
    project_name=None,
    overwrite=False,
    resume="auto",
    keep_checkpoints=3,
    seed=None,
    hyperparameters=None,
    distribution_strategy=None,
    mixed_precision=False,
    jit_compile="auto",
    trial_isolation="none",
    workers=1,
    max_consecutive_failed_trials=3,
    keep_on_interrupt=False,
    verbose=1,
) -> SearchResult:
    """Search `template`'s hyperparameters with a keras-tuner tuner and return what was found.

    Around keras-tuner's own search this adds: `keras.backend.clear_session()` and `gc.collect()`
    after every trial; out-of-memory trials, trials whose loss went NaN (and, with process
    isolation, any failing trial) recorded `FAILED` with their error while the search goes on; a
    wall-clock `time_budget` (no trial starts after it, the running one stops at its next batch
    end); resuming only what matches (see below); only the best `keep_checkpoints` trials' weights
    kept on disk; mixed precision; trials in child processes; and `workers` parallel trials on
    this machine through keras-tuner's chief/worker mode, whose processes end with this one
    (also when it is killed) and whose temporary folders are removed on every exit path
    (return, exception, SIGTERM). When `KERASTUNER_TUNER_ID` is set (a multi-machine search),
    this call just plays that role: the chief serves the oracle and returns the full result; a
    worker runs trials and returns the results visible in the (shared) project directory,
    without a model.

    **Ctrl-C.** With `keep_on_interrupt=True`, Ctrl-C (`KeyboardInterrupt`) ends the search,
    not the work done: the running trial is dropped and the result holds the trials completed
    so far (`interrupted=True`), its `best_model` the best of them, as `max_trials` set to that
    count would have. The dropped trial stays `RUNNING` in the project, so a later call with the
    same arguments resumes the search and runs it again. With no trial completed there is
    nothing to keep, and the interrupt propagates; it always does without the option (Keras's
    `fit` behaves so too).

    **Resuming.** Every project records a fingerprint of what it searched (`FINGERPRINT_FILE`:
    the shapes, dtypes and a BLAKE2 hash of `x`, `y` and the validation data, the template's
    class and settings, the tuner, objective, epochs and pinned hyperparameters; not
    `max_trials`, `time_budget`, `seed` or `verbose`). Without a `project_name` the project is
    named after the template and the fingerprint (`hyper_mlp_1a2b3c4d`), so changed data or a
    changed template start a new project and the same search resumes. With a `project_name`,
    an existing project is resumed only when its fingerprint matches (`resume="auto"`);
    otherwise `search` raises a `ValueError` naming what changed, unless `overwrite=True`
    (delete it and start afresh) or `resume=True` (resume it anyway, with a warning). A
    `tf.data.Dataset` cannot be hashed: only its element spec enters the fingerprint.

    Args:
        template: A keras-tuner `HyperModel` (`HyperMLP`, `HyperCNN`, or your own). It must be
            picklable for `trial_isolation="process"` and `workers > 1`.
        x: Training inputs (NumPy arrays; a `tf.data.Dataset` works in-process).
        y: Training targets.
        validation_data: `(x_val, y_val)`; else `validation_split` of `x` is held out.
        validation_split: Fraction held out when `validation_data` is `None`, in (0, 1).
        tuner: `"asha"` (default: the template's defaults first, then random draws alternating
            with local moves around the best trial so far, each stopped at a rung epoch unless
            in the best third of the trials that reached it),
            `"random"`, `"hyperband"`, `"bayesian"`, or a keras-tuner `Tuner` instance (which
            runs with its own oracle, directory and strategy).
        objective: The metric to optimise; defaults to `template.objective` (`val_accuracy` for
            classification templates, `val_loss` otherwise).
        max_trials: The most trials in the project, completed ones from earlier runs included.
        epochs: Epochs per trial (Hyperband's maximum).
        time_budget: Seconds after which no new trial starts, or `None`.
        directory: The directory holding the project; `None` for `default_directory()`
            (`~/.cache/keras_nnperf/search`), out of the working folder.
        project_name: The project's name (no path separator, not `..`); defaults to the
            template's class name in snake case and the fingerprint's first 8 hex digits.
        overwrite: Delete an existing project and start afresh.
        resume: `"auto"` (resume a project only when its fingerprint matches, else raise) or
            `True` (resume an existing project even if the data or template changed).
        keep_checkpoints: Keep the weights files of the best this-many trials (`best_model`
            needs 1); the others are deleted when a trial ends. `None` keeps all. Hyperband
            keeps all: its later rounds continue from earlier trials' weights.
        seed: Seeds the oracle and `keras.utils.set_random_seed`.
        hyperparameters: A `keras_tuner.HyperParameters` pinning values (`hp.Fixed`); the rest
            are still tuned.
        distribution_strategy: A `tf.distribute.Strategy` to build and train every trial under
            (e.g. `MirroredStrategy` over the GPUs); not with process isolation or workers.
        mixed_precision: Use the `mixed_float16` policy during the search (restored after).
        jit_compile: `"auto"`, `True` or `False`, set on templates that take it.
        trial_isolation: `"none"` or `"process"` (every trial in a spawned child process). A
            script using it must call `search` under `if __name__ == "__main__":` (the spawned
            child imports the script again); `search` checks this and raises otherwise.
        workers: Parallel trials on this machine (one per GPU when there are GPUs).
        max_consecutive_failed_trials: Stop with an error after this many failures in a row.
        keep_on_interrupt: On Ctrl-C, return the completed trials instead of raising (see
            above). Defaults to False.
        verbose: 0 silent (keras-tuner's own prints and failure tracebacks too), 1 one line per
            trial, 2 also one line per epoch.

    Returns:
        A `SearchResult`; `print(result)` gives a short summary. Its `best_model` holds the best
        trial's best-epoch weights, so it scores the recorded best on the validation data;
        `best_recipe()` says how it trained.

    Raises:
        ValueError: for an invalid argument or combination, inputs that do not fit each other or
            the template, or a stale project (the message names it).
        ImportError: for `workers > 1` without `grpcio`.
        RuntimeError: when `max_consecutive_failed_trials` trials failed in a row, or
            `trial_isolation="process"` is used from a script without a main guard.
        KeyboardInterrupt: on Ctrl-C without `keep_on_interrupt`, or before any trial completed.

    Example:
    ```python
    x, y = sklearn.datasets.load_breast_cancer(return_X_y=True)
    result = search(HyperMLP(num_features=30), x, y, tuner="random", max_trials=10, epochs=20)
    print(result)
    ```

    Reference:
        O'Malley et al., 2019, KerasTuner; Li et al., 2020, "A System for Massively Parallel
        Hyperparameter Tuning" (ASHA); Li et al., 2018, "Hyperband"; Bergstra & Bengio, 2012,
        "Random Search for Hyper-Parameter Optimization".
    """
    started = time.perf_counter()
    is_instance = isinstance(tuner, keras_tuner.Tuner)
    if not is_instance:
        check_choice("tuner", tuner, TUNERS)
    check_choice("trial_isolation", trial_isolation, ISOLATION)
    max_trials = check_integer("max_trials", max_trials, low=1)
    epochs = check_integer("epochs", epochs, low=1)
    workers = check_integer("workers", workers, low=1)
    max_consecutive_failed_trials = check_integer(
        "max_consecutive_failed_trials", max_consecutive_failed_trials, low=1
    )
    keep_checkpoints = check_integer("keep_checkpoints", keep_checkpoints, low=1, allow_none=True)
    jit_compile = check_auto_or_bool("jit_compile", jit_compile)
    mixed_precision = check_bool("mixed_precision", mixed_precision)
    overwrite = check_bool("overwrite", overwrite)
    keep_on_interrupt = check_bool("keep_on_interrupt", keep_on_interrupt)
    if resume is not True:
        check_choice("resume", resume, ("auto", True))
    verbose = check_choice("verbose", verbose, (0, 1, 2))
    time_budget = check_number("time_budget", time_budget, low=0.0, low_open=True, allow_none=True)
    if validation_data is None:
        check_number(
            "validation_split", validation_split, low=0.0, high=1.0, low_open=True, high_open=True
        )
    if project_name is not None:
        _check_project_name(project_name)
    _check_inputs(template if not is_instance else tuner.hypermodel, x, y, validation_data)
    if distribution_strategy is not None and (trial_isolation != "none" or workers > 1):
        raise ValueError(
            "A distribution_strategy object cannot be sent to child processes; use it with "
            "trial_isolation='none' and workers=1. "
            f"Received: trial_isolation={trial_isolation!r}, workers={workers!r}"
        )
    if trial_isolation == "process":
        _check_main_guard()
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
    objective = objective or getattr(template, "objective", "val_loss")
    print_ = fingerprint(
        template,
        x,
        y,
        validation_data,
        {
            "tuner": tuner if isinstance(tuner, str) else type(tuner).__name__,
            "objective": getattr(objective, "name", objective),
            "epochs": epochs,
            "validation_split": None if validation_data is not None else validation_split,
            "hyperparameters": None if hyperparameters is None else hyperparameters.values,
            "dtype_policy": "mixed_float16" if mixed_precision else None,
        },
    )
    directory = default_directory() if directory is None else str(directory)
    if project_name is None:
        project_name = f"{snake_case(type(template).__name__)}_{print_['digest'][:8]}"
    settings = {
        "tuner": tuner,
        "objective": objective,
        "max_trials": max_trials,
        "epochs": epochs,
        "deadline": None if time_budget is None else time.time() + time_budget,
        "directory": directory,
        "project_name": project_name,
        "seed": seed,
        "hyperparameters": hyperparameters,
        "distribution_strategy": distribution_strategy,
        "dtype_policy": "mixed_float16" if mixed_precision else keras.config.dtype_policy().name,
        "trial_isolation": trial_isolation,
        "max_consecutive_failed_trials": max_consecutive_failed_trials,
        "verbose": verbose,
        "validation_split": validation_split,
        "keep_checkpoints": None if tuner == "hyperband" else keep_checkpoints,
    }
    role = os.environ.get("KERASTUNER_TUNER_ID")
    project_dir = tuner.project_dir if is_instance else os.path.join(directory, project_name)
    if role is None or "chief" in role:
        if overwrite and not is_instance and os.path.exists(project_dir):
            shutil.rmtree(project_dir)
        _claim_project(project_dir, print_, resume)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    with _quiet(verbose == 0), _sigterm_raises_system_exit():
        if workers > 1 and role is None:
            if is_instance:
                raise ValueError("workers > 1 needs a tuner name, not a tuner instance.")
            from keras_nnperf.tuning.distributed import run_workers

            interrupted = False
            try:
                run_workers(template, x, y, validation_data, settings, workers)
            except KeyboardInterrupt:
                # The chief saves the oracle at every trial's end: the files hold what was done.
                if not keep_on_interrupt:
                    raise
                interrupted = True
            with _dtype_policy(settings["dtype_policy"]):
                tuner_object = _make(template, {**settings, "verbose": 0}, overwrite=False)
                # keras-tuner reloads a tuner only from its own `tuner0.json`, which exists
                # only if the worker named tuner0 ran a trial. Under load one worker can take
                # every trial; then the results came back empty. The oracle's files hold them.
                tuner_object.oracle.reload()
                result = _collect(tuner_object, settings)
            if interrupted:
                _keep_interrupted(result)
        else:
            result = run_search(
                template, x, y, validation_data, settings, keep_on_interrupt=keep_on_interrupt
            )
    result.elapsed_seconds = time.perf_counter() - started
    result.project_dir = project_dir
    return result


def fingerprint(template, x, y, validation_data, search_settings: dict) -> dict:
    """What a search ran on, as JSON-ready parts and one `digest` over all of them.

    `data`: per array its shape, dtype and BLAKE2b hash (a `tf.data.Dataset`: its element
    spec); `template`: the template's class and public attributes (object addresses removed);
    `search`: `search_settings`. Two searches with equal digests searched the same thing.
    """
    data = {"x": _array_print(x), "y": _array_print(y)}
    if validation_data is not None:
        if isinstance(validation_data, (tuple, list)):
            data["validation"] = [_array_print(part) for part in validation_data]
        else:
            data["validation"] = _array_print(validation_data)
    parts = {
        "data": data,
        "template": {
            "class": f"{type(template).__module__}.{type(template).__qualname__}",
            "attributes": {
                name: _ADDRESS.sub("", repr(value))
                for name, value in sorted(vars(template).items())
                if not name.startswith("_")
            },
        },
        "search": json.loads(json.dumps(search_settings, default=repr)),
    }
    text = json.dumps(parts, sort_keys=True)
    return {**parts, "digest": hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _array_print(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: _array_print(part) for key, part in sorted(value.items())}
    if isinstance(value, (tuple, list)) and not hasattr(value, "shape"):
        return [_array_print(part) for part in value]
    if not hasattr(value, "shape") and hasattr(value, "element_spec"):  # tf.data.Dataset
        return {"dataset": repr(value.element_spec)}
    array = np.asarray(value)
    if array.dtype == object:
        payload = repr(array.tolist()).encode()
    else:
        payload = np.ascontiguousarray(array).view(np.uint8).tobytes()
    return {
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "hash": hashlib.blake2b(payload, digest_size=16).hexdigest(),
    }


def _claim_project(project_dir: str, print_: dict, resume) -> None:
    """Record `print_` in a new project, or check an existing project was the same search."""
    path = os.path.join(project_dir, FINGERPRINT_FILE)
    if os.path.isdir(project_dir) and os.listdir(project_dir):
        stored = None
        if os.path.exists(path):
            with open(path) as file:
                stored = json.load(file)
        if stored is None or stored.get("digest") != print_["digest"]:
            if stored is None:
                changed = "it has no fingerprint (written by another tool or an older version)"
            else:
                parts = [p for p in ("data", "template", "search") if stored.get(p) != print_[p]]
                changed = f"its {' and '.join(parts) or 'fingerprint'} differ"
            if resume is not True:
                raise ValueError(
                    f"The project {project_dir} holds a different search: {changed}. Pass "
                    "overwrite=True to start afresh, another project_name, or resume=True to "
                    f"continue it anyway. Received: resume={resume!r}"
                )
            warnings.warn(
                f"Resuming the project {project_dir} although {changed} (resume=True).",
                stacklevel=3,
            )
            return
        return
    os.makedirs(project_dir, exist_ok=True)
    with open(path, "w") as file:
        json.dump(print_, file, indent=1)


def _check_project_name(project_name) -> None:
    if (
        not isinstance(project_name, str)
        or not project_name.strip()
        or project_name in (".", "..")
        or any(sep in project_name for sep in ("/", "\\", os.sep))
    ):
        raise ValueError(
            "Argument project_name must be a plain folder name (no path separator, not '.' or "
            f"'..'); put the folder in `directory`. Received: project_name={project_name!r}"
        )


def _check_inputs(template, x, y, validation_data) -> None:
    """One-line errors for inputs that cannot fit each other or the template's input shape."""
    pairs = [("x", "y", x, y)]
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "Argument validation_data must be (x_val, y_val). "
                f"Received: validation_data of type {type(validation_data).__name__}"
            )
        pairs.append(("x_val", "y_val", validation_data[0], validation_data[1]))
    expected = getattr(template, "input_shape", None)
    for x_name, y_name, inputs, targets in pairs:
        if not hasattr(inputs, "shape"):
            continue  # a dataset, a dict or a generator: Keras checks it
        if targets is not None and hasattr(targets, "shape") and len(inputs) != len(targets):
            raise ValueError(
                f"Arguments {x_name} and {y_name} must have as many rows. "
                f"Received: len({x_name})={len(inputs)}, len({y_name})={len(targets)}"
            )
        if expected is not None:
            given = tuple(inputs.shape[1:])
            fits = len(given) == len(expected) and all(
                e is None or e == g for e, g in zip(expected, given, strict=True)
            )
            if not fits:
                raise ValueError(
                    f"Argument {x_name} does not fit the template {type(template).__name__}: "
                    f"it expects samples of shape {tuple(expected)}. "
                    f"Received: {x_name}.shape={tuple(inputs.shape)}"
                )


def _check_main_guard() -> None:
    """Raise when process isolation would re-run the calling script's body in every child.

    A spawned child imports the parent's main script as `__mp_main__` to unpickle what it was
    sent, which runs everything not under `if __name__ == "__main__":`, this `search` call
    included. Checked twice: in such a child (`__main__` is then named `__mp_main__`), and in the
    parent by finding the main script's line that led here and whether it sits under the guard.
    """
    main = sys.modules.get("__main__")
    if getattr(main, "__name__", None) == "__mp_main__":
        raise RuntimeError(
            "search(trial_isolation='process') was called while a trial's child process "
            "imported the main script: put the search under if __name__ == '__main__':"
        )
    line = _unguarded_main_line(main)
    if line is not None:
        raise RuntimeError(
            f"search(trial_isolation='process') is called at {line} outside "
            "`if __name__ == '__main__':`; each trial's child process would re-run the script. "
            "Put the search call under that guard."
        )


def _unguarded_main_line(main) -> str | None:
    """`path:line` of the main script's module-level line that called us, if not main-guarded."""
    path = getattr(main, "__file__", None)
    if main is None or not path or not path.endswith(".py") or not os.path.exists(path):
        return None  # an interactive session or notebook: spawn re-runs nothing
    frame = inspect.currentframe()
    line = None
    while frame is not None:
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None
    try:
        with open(path) as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                return None
    return f"{path}:{line}"


def _is_main_test(test) -> bool:
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    values = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and values == ["__main__"]


@contextlib.contextmanager
def _quiet(enabled: bool):
    """Send Python-level stdout and stderr to nothing while `enabled` (for `verbose=0`).

    keras-tuner prints "Reloading Tuner", retry notes and, because `keras_tuner.config.DEBUG`
    is `True`, the traceback of every failed trial; redirecting the streams (public
    `contextlib` means) silences them without touching keras-tuner. The failures stay in the
    results (`error`).
    """
    if not enabled:
        yield
        return
    with open(os.devnull, "w") as sink:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield


@contextlib.contextmanager
def _sigterm_raises_system_exit():
    """Turn SIGTERM into `SystemExit(143)` during the search, so `finally` blocks run.

    With Python's default action a SIGTERM ends the process at once: no worker is stopped and
    no temporary folder removed. Installed only from the main thread and only over the default
    action (a handler the caller installed is kept).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _keep_interrupted(result: SearchResult) -> None:
    """Mark `result` as ended by Ctrl-C, or raise `KeyboardInterrupt` if no trial completed."""
    if result.best_model is None:
        raise KeyboardInterrupt
    result.interrupted = True


def run_search(
    template,
    x,
    y,
    validation_data,
    settings,
    overwrite=False,
    collect=True,
    keep_on_interrupt=False,
):
    """Run the search in this process, as a single tuner or as the role set in the environment.

    `settings` is the dict `search` assembles from its arguments; with `collect=False` the
    result is not assembled (a launched chief or worker only has to run). With
    `keep_on_interrupt`, Ctrl-C returns the completed trials (see `search`).
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
        interrupted = False
        try:
            with _objective_metrics_only(tuner):
                tuner.search(x, y, **fit_kwargs)
        except TimeBudgetExhausted:
            if settings["verbose"]:
                print("Time budget spent: no new trial started.", flush=True)
        except KeyboardInterrupt:
            if not keep_on_interrupt or not collect:
                raise
            interrupted = True
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
        result = _collect(tuner, settings)
        if interrupted:
            _keep_interrupted(result)
        return result


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
    tuner.keep_checkpoints = settings.get("keep_checkpoints")
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
def _objective_metrics_only(tuner):
    """While the trials run, compile only the metrics the objective reads (recipe templates).

    Sets the template's `search_metrics` (`RecipeHyperModel.search_metrics`) to the objective's
    names and restores the previous value afterwards, so `best_model`, rebuilt after the search,
    has every metric of the template. A trial's history then holds the objective (and the loss),
    not the template's other metrics. Templates without `search_metrics` are left alone.
    """
    template = tuner.hypermodel
    if not hasattr(template, "search_metrics"):
        yield
        return
    objective = tuner.oracle.objective
    names = tuple(o.name for o in getattr(objective, "objectives", [objective]))
    previous = template.__dict__.get("search_metrics", _UNSET)
    template.search_metrics = names
    try:
        yield
    finally:
        if previous is _UNSET:
            del template.search_metrics
        else:
            template.search_metrics = previous


_UNSET = object()


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
