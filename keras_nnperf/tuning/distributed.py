"""`workers=N`: N parallel trials on one machine through keras-tuner's chief/worker mode.

keras-tuner runs one chief process that owns the oracle and serves it over gRPC, and any number
of worker processes that ask it for trials. The roles come from three environment variables:

| variable | value |
|---|---|
| `KERASTUNER_TUNER_ID` | `"chief"` for the oracle, `"tuner0"`, `"tuner1"`, ... for workers |
| `KERASTUNER_ORACLE_IP` | the chief's address (`127.0.0.1` here) |
| `KERASTUNER_ORACLE_PORT` | a free port |

`run_workers` sets them, launches the chief and N workers as subprocesses running
`python -m keras_nnperf.tuning._worker`, gives each worker one GPU (`CUDA_VISIBLE_DEVICES`) when
there are GPUs, and always cleans up: the processes and the temporary folder (`nnperf_workers_*`,
holding a copy of the data) go on return, on an exception, on SIGTERM (which `search` turns into
`SystemExit`) and `atexit`; if this process is killed outright (SIGKILL), each child notices
within a second that its parent is gone, removes the folder and exits
(`isolation.exit_with_parent`). Results are
read afterwards from the oracle's project directory, never from exit codes: a worker may exit
with "Number of consecutive failures exceeded the limit" after the search has finished.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from keras_nnperf.tuning.isolation import write_arrays

#: The environment variable giving a launched chief or worker the pid of the search's process.
PARENT_PID_VARIABLE = "NNPERF_PARENT_PID"

# After the last worker exits the chief normally stops by itself within seconds.
CHIEF_GRACE_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on localhost that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_requirements() -> None:
    """Raise `ImportError` naming the package when the distributed mode cannot run.

    keras-tuner's chief and workers talk over gRPC (`grpcio`, `protobuf`). TensorBoard is not
    needed: our tuners import it only when a `TensorBoard` callback is used.
    """
    for module, package in (("grpc", "grpcio"), ("google.protobuf", "protobuf")):
        if importlib.util.find_spec(module) is None:
            raise ImportError(
                f"search(workers > 1) uses keras-tuner's distributed mode, which needs "
                f"{package}: pip install {package}"
            )


def _gpu_count() -> int:
    if "tensorflow" not in sys.modules:
        return 0
    return len(sys.modules["tensorflow"].config.list_physical_devices("GPU"))


def _forward(process, log, show):
    # Workers print our one-line progress; keras-tuner's chatter goes to the log file only.
    with log:
        for line in process.stdout:
            log.write(line)
            if show and line.startswith("[tuner"):
                print(line, end="", flush=True)


def run_workers(template, x, y, validation_data, settings: dict, workers: int) -> None:
    """Run a search with one chief and `workers` worker processes on this machine; block until done.

    Args:
        template: The picklable `HyperModel`.
        x: Training inputs (NumPy arrays).
        y: Training targets.
        validation_data: `(x_val, y_val)` or `None` (then `settings["validation_split"]`).
        settings: The settings dict `search` assembles; `tuner` must be a name.
        workers: The number of worker processes, >= 2.

    Raises:
        ImportError: if gRPC is missing.
        ValueError: if the data are not plain arrays.
    """
    check_requirements()
    spec_dir = tempfile.mkdtemp(prefix="nnperf_workers_")
    processes = []

    def stop_all():
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(spec_dir, ignore_errors=True)

    atexit.register(stop_all)
    try:
        write_arrays(os.path.join(spec_dir, "data.npz"), x, y, validation_data)
        with open(os.path.join(spec_dir, "template.pkl"), "wb") as file:
            pickle.dump(template, file)
        hyperparameters = settings["hyperparameters"]
        launched = {
            **settings,
            "hyperparameters": None if hyperparameters is None else hyperparameters.get_config(),
            "distribution_strategy": None,
        }
        with open(os.path.join(spec_dir, "settings.json"), "w") as file:
            json.dump(launched, file)
        port = str(free_port())
        gpus = _gpu_count()
        roles = ["chief"] + [f"tuner{i}" for i in range(workers)]
        for i, role in enumerate(roles):
            env = {
                **os.environ,
                "KERASTUNER_TUNER_ID": role,
                "KERASTUNER_ORACLE_IP": "127.0.0.1",
                "KERASTUNER_ORACLE_PORT": port,
                PARENT_PID_VARIABLE: str(os.getpid()),
            }
            if gpus:
                # The chief needs no GPU; worker k gets GPU k mod the GPU count.
                env["CUDA_VISIBLE_DEVICES"] = "" if role == "chief" else str((i - 1) % gpus)
            log = open(os.path.join(spec_dir, f"{role}.log"), "w")
            process = subprocess.Popen(
                [sys.executable, "-m", "keras_nnperf.tuning._worker", spec_dir],
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            processes.append(process)
            show = role != "chief" and settings["verbose"] >= 1
            threading.Thread(target=_forward, args=(process, log, show), daemon=True).start()
        chief, worker_processes = processes[0], processes[1:]
        for process in worker_processes:
            process.wait()
        deadline = time.monotonic() + CHIEF_GRACE_SECONDS
        while chief.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        # The oracle saves its state at every trial end, so stopping a lingering chief is safe.
        stop_all()
        atexit.unregister(stop_all)
