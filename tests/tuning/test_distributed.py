import json
import socket

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


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_workers_run_every_trial_exactly_once(tmp_path):
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
    result = search(
        template,
        x,
        y,
        validation_data=(x[:16], y[:16]),
        tuner="random",
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        workers=2,
        verbose=0,
    )
    assert [r["trial_id"] for r in result.results] == ["0", "1"]
    assert [r["status"] for r in result.results] == ["COMPLETED", "COMPLETED"]
    # Each trial ran once: one timing record each, written by the worker that ran it.
    assert all(r["elapsed_seconds"] > 0 for r in result.results)
    project = tmp_path / "hyper_mlp"
    assert sorted(p.name for p in project.glob("trial_*")) == ["trial_0", "trial_1"]
    oracle_state = json.loads((project / "oracle.json").read_text())
    assert oracle_state["run_times"] == {"0": 1, "1": 1}
    assert result.best_model is not None
