import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from keras_nnperf.tuning.distributed import check_requirements, free_port
from keras_nnperf.tuning.hyper_mlp import HyperMLP
from keras_nnperf.tuning.search import search


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_requirements_are_installed():
    check_requirements()


def _two_trials_on_two_workers(directory):
    """A 2-trial random search of a 1-layer HyperMLP with `workers=2`, on 48 rows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    template = HyperMLP(
        num_features=4,
        max_layers=1,
        optimizers=["adam"],
        lr_schedules=["constant"],
        batch_sizes=[32],
    )
    return search(
        template,
        x,
        y,
        validation_data=(x[:16], y[:16]),
        tuner="random",
        max_trials=2,
        epochs=1,
        directory=directory,
        workers=2,
        verbose=0,
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_workers_run_every_trial_exactly_once(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = _two_trials_on_two_workers(tmp_path)
    assert [r["trial_id"] for r in result.results] == ["0", "1"]
    assert [r["status"] for r in result.results] == ["COMPLETED", "COMPLETED"]
    # Each trial ran once: one timing record each, written by the worker that ran it.
    assert all(r["elapsed_seconds"] > 0 for r in result.results)
    project = Path(result.project_dir)
    assert sorted(p.name for p in project.glob("trial_*")) == ["trial_0", "trial_1"]
    oracle_state = json.loads((project / "oracle.json").read_text())
    assert oracle_state["run_times"] == {"0": 1, "1": 1}
    assert result.best_model is not None
    assert list(tmp_path.glob("nnperf_workers_*")) == []  # the data's copy is gone


PARENT = """
import sys

import numpy as np

from keras_nnperf.tuning import HyperMLP, search

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    template = HyperMLP(
        num_features=4, max_layers=1, optimizers=["adam"], lr_schedules=["constant"],
        batch_sizes=[32],
    )
    search(template, x, y, validation_data=(x[:16], y[:16]), tuner="random", max_trials=60,
           epochs=30, directory=sys.argv[1], workers=2, verbose=1)
"""


def _children(pid: int) -> list[int]:
    """The pids whose parent is `pid` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc")
@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_search_takes_its_chief_and_workers_and_temporary_folder(tmp_path, signal_number):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "TF_CPP_MIN_LOG_LEVEL": "3"}
    parent = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in parent.stdout])
    reader.daemon = True
    reader.start()
    try:
        deadline = time.monotonic() + 400
        while True:  # until a worker reports a finished trial: the search is under way
            line = lines.get(timeout=max(1.0, deadline - time.monotonic()))
            if line.startswith("[tuner"):
                break
        children = _children(parent.pid)
        assert len(children) == 3  # the chief and two workers
        assert len(list(temp.glob("nnperf_workers_*"))) == 1
        parent.send_signal(signal_number)
        parent.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert [pid for pid in children if _alive(pid)] == []
        # SIGTERM: removed by the parent; SIGKILL: by the children that saw their parent die.
        while list(temp.glob("nnperf_workers_*")) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert list(temp.glob("nnperf_workers_*")) == []
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in _children(parent.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_results_are_read_back_when_one_worker_ran_every_trial(tmp_path, monkeypatch):
    # Under load the worker named tuner1 took both trials and tuner0 ran none: keras-tuner
    # reloads a tuner only from tuner0.json, so the search returned no results at all.
    import importlib

    from keras_nnperf.tuning import distributed

    search_module = importlib.import_module("keras_nnperf.tuning.search")  # the module

    def one_worker_runs_everything(template, x, y, validation_data, settings, workers):
        search_module.run_search(template, x, y, validation_data, settings)
        for state in Path(settings["directory"]).glob("*/tuner0.json"):
            state.rename(state.with_name("tuner1.json"))

    monkeypatch.setattr(distributed, "run_workers", one_worker_runs_everything)
    result = _two_trials_on_two_workers(tmp_path)
    assert not list(tmp_path.glob("*/tuner0.json"))
    assert [r["trial_id"] for r in result.results] == ["0", "1"]
    assert [r["status"] for r in result.results] == ["COMPLETED", "COMPLETED"]
    assert result.best_model is not None
