"""Process-isolated trials: each trial trains in a fresh child process.

When the child exits, everything it allocated (GPU memory included, which TensorFlow never hands
back within a process) returns to the system, and a crash (out of memory, a segfault in a
kernel) takes down the child only. The protocol carries no Python objects but the template:

* the template goes to the child by pickling (so it must be picklable; ours are);
* the data goes once per search into a temporary `.npz` file (`write_arrays`);
* the trial's hyperparameters go as `HyperParameters.get_config()` JSON, with the fit settings;
* the child saves its best epoch's weights where keras-tuner expects the trial checkpoint, and
  writes its history (or its error) as JSON, which the parent reads back.

A child that raises or dies is reported to keras-tuner as `FailedTrialError`: the trial is recorded
`FAILED` with the child's error and the search goes on. A child whose parent dies (killed, even
with SIGKILL) ends itself within a second (`exit_with_parent`); one still running when the
parent's trial ends by an exception (a SIGTERM turned into `SystemExit` included) is terminated.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import traceback

import keras
import keras_tuner
import numpy as np

from keras_nnperf.tuning.tuner import DeadlineStopping, StopOnNonFiniteLoss, is_out_of_memory

REQUEST_FILE = "nnperf_request.json"
RESULT_FILE = "nnperf_result.json"


#: Seconds between two looks at the parent's pid in `exit_with_parent`.
PARENT_POLL_SECONDS = 0.5


def exit_with_parent(parent_pid: int, cleanup: str | None = None) -> threading.Thread:
    """End this process soon after `parent_pid` is no longer its parent; return the watcher.

    A daemon thread compares `os.getppid()` with `parent_pid` every `PARENT_POLL_SECONDS`: when
    the parent dies (however: SIGKILL leaves it no chance to stop its children) this process is
    re-parented, and the thread removes `cleanup` (a temporary folder, if given) and calls
    `os._exit(1)`. Portable (no `prctl`), and unlike Linux's parent-death signal it can clean
    up first. Threads run while the main thread is inside TensorFlow, JAX or gRPC calls, which
    release the GIL.

    Args:
        parent_pid: The pid this process must keep as its parent (passed by the parent, so a
            parent that died before this call is noticed too).
        cleanup: A directory to remove before exiting, or `None`.
    """

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)
        os._exit(1)

    thread = threading.Thread(target=watch, name="nnperf-exit-with-parent", daemon=True)
    thread.start()
    return thread


def write_arrays(path: str, x, y, validation_data=None) -> str:
    """Save the search's data as one `.npz` file for child processes.

    Args:
        path: The file to write.
        x: The training inputs, one NumPy-convertible array.
        y: The training targets, one array.
        validation_data: `None` or `(x_val, y_val)`.

    Returns:
        `path`.

    Raises:
        ValueError: if the data are not plain arrays (dicts, datasets and generators cannot be
            shared with child processes this way).
    """
    arrays = {"x": x, "y": y}
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError(
                "Process-isolated and multi-worker searches need validation_data=(x_val, y_val). "
                f"Received: validation_data of type {type(validation_data).__name__}"
            )
        arrays["x_val"], arrays["y_val"] = validation_data
    for name, value in arrays.items():
        if not hasattr(value, "shape") or isinstance(value, dict):
            raise ValueError(
                "Process-isolated and multi-worker searches need NumPy arrays for x, y and "
                f"validation_data. Received: {name} of type {type(value).__name__}"
            )
    np.savez(path, **{name: np.asarray(value) for name, value in arrays.items()})
    return path


class ProcessIsolation:
    """A `TrialCare.trial_runner` that trains every trial in a spawned child process.

    Args:
        data_path: The `.npz` file written by `write_arrays`.
        dtype_policy: The Keras dtype policy name for the child (`"mixed_float16"`).
        seed: Passed to `keras.utils.set_random_seed` in the child, or `None`.
        deadline: The search's wall-clock deadline (`time.time()`), or `None`.

    Example:
    ```python
    tuner.trial_runner = ProcessIsolation(write_arrays(path, x, y, (x_val, y_val)))
    ```
    """

    def __init__(self, data_path, dtype_policy="float32", seed=None, deadline=None):
        self.data_path = data_path
        self.dtype_policy = dtype_policy
        self.seed = seed
        self.deadline = deadline

    def __call__(self, tuner, trial, *fit_args, **fit_kwargs):
        """Run `trial` in a child and return its `History` (keras-tuner scores it)."""
        values = trial.hyperparameters.values
        fit = {
            "epochs": values.get("tuner/epochs", fit_kwargs.get("epochs", 1)),
            "initial_epoch": values.get("tuner/initial_epoch", fit_kwargs.get("initial_epoch", 0)),
            "verbose": fit_kwargs.get("verbose", 0),
        }
        if fit_kwargs.get("validation_split"):
            fit["validation_split"] = fit_kwargs["validation_split"]
        warm_start = None
        if "tuner/trial_id" in values:  # Hyperband continues an earlier trial's best weights.
            warm_start = tuner._get_checkpoint_fname(values["tuner/trial_id"])
        objective = tuner.oracle.objective
        trial_dir = tuner.get_trial_dir(trial.trial_id)
        request = {
            "hyperparameters": trial.hyperparameters.get_config(),
            "data": self.data_path,
            "fit": fit,
            "objective": objective.name,
            "direction": objective.direction,
            "checkpoint": tuner._get_checkpoint_fname(trial.trial_id),
            "warm_start": warm_start,
            "dtype_policy": self.dtype_policy,
            "seed": self.seed,
            "deadline": self.deadline,
            "result": os.path.join(trial_dir, RESULT_FILE),
            "parent_pid": os.getpid(),
        }
        request_path = os.path.join(trial_dir, REQUEST_FILE)
        with open(request_path, "w") as file:
            json.dump(request, file)
        if os.path.exists(request["result"]):
            os.remove(request["result"])
        context = multiprocessing.get_context("spawn")
        # daemon: multiprocessing terminates it if this process exits while it runs.
        child = context.Process(
            target=run_request, args=(tuner.hypermodel, request_path), daemon=True
        )
        child.start()
        try:
            child.join()
        finally:
            if child.is_alive():  # The join was interrupted (SIGTERM, KeyboardInterrupt).
                child.terminate()
                child.join()
        if not os.path.exists(request["result"]):
            raise keras_tuner.errors.FailedTrialError(
                f"The trial's process exited with code {child.exitcode} and no result "
                "(killed for memory, or crashed)."
            )
        with open(request["result"]) as file:
            result = json.load(file)
        if "error" in result:
            kind = "Out of memory in the trial's process" if result["out_of_memory"] else "Error"
            raise keras_tuner.errors.FailedTrialError(f"{kind}:\n{result['error']}")
        history = keras.callbacks.History()
        history.history = result["history"]
        return history


def run_request(template, request_path: str) -> None:
    """The child's entry point: build, train, save the best weights, and write the result JSON."""
    with open(request_path) as file:
        request = json.load(file)
    if request.get("parent_pid") is not None:
        exit_with_parent(request["parent_pid"])
    try:
        keras.config.set_dtype_policy(request["dtype_policy"])
        if request["seed"] is not None:
            keras.utils.set_random_seed(request["seed"])
        hp = keras_tuner.HyperParameters.from_config(request["hyperparameters"])
        model = template.build(hp)
        if request["warm_start"]:
            model.load_weights(request["warm_start"])
        with np.load(request["data"]) as data:
            arrays = {name: data[name] for name in data.files}
        fit = dict(request["fit"])
        if "x_val" in arrays:
            fit["validation_data"] = (arrays["x_val"], arrays["y_val"])
        objective = keras_tuner.Objective(request["objective"], request["direction"])
        callbacks = [SaveBestEpoch(objective, request["checkpoint"]), StopOnNonFiniteLoss()]
        if request["deadline"] is not None:
            callbacks.append(DeadlineStopping(request["deadline"]))
        history = template.fit(hp, model, arrays["x"], arrays["y"], callbacks=callbacks, **fit)
        result = {"history": {k: [float(v) for v in vs] for k, vs in history.history.items()}}
    except Exception as error:
        result = {"error": traceback.format_exc(), "out_of_memory": is_out_of_memory(error)}
    # Write then rename, so the parent never reads half a file.
    with tempfile.NamedTemporaryFile(
        "w", dir=os.path.dirname(request["result"]), delete=False, suffix=".tmp"
    ) as file:
        json.dump(result, file)
    os.replace(file.name, request["result"])


class SaveBestEpoch(keras.callbacks.Callback):
    """Save the weights at every epoch that improves `objective` (keras-tuner's checkpoint)."""

    def __init__(self, objective, filepath):
        super().__init__()
        self.objective = objective
        self.filepath = filepath
        self.best = float("-inf") if objective.direction == "max" else float("inf")

    def on_epoch_end(self, epoch, logs=None):
        if not self.objective.has_value(logs):
            self.model.save_weights(self.filepath)
            return
        value = self.objective.get_value(logs)
        if self.objective.better_than(value, self.best):
            self.best = value
            self.model.save_weights(self.filepath)
