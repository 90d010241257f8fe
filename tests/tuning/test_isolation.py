import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from keras_nnperf.tuning.hyper_mlp import HyperMLP
from keras_nnperf.tuning.isolation import write_arrays
from keras_nnperf.tuning.search import search


def _template():
    return HyperMLP(
        num_features=4,
        max_layers=1,
        activations=["relu", "elu"],
        optimizers=["adam"],
        lr_schedules=["constant"],
        batch_sizes=[32],
    )


def _data(n=48):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32")


def test_template_survives_the_trip_to_a_child():
    copy = pickle.loads(pickle.dumps(_template()))
    assert copy.activations == ["relu", "elu"] and copy.batch_sizes == [32]


@pytest.mark.slow
def test_trials_run_in_child_processes(tmp_path):
    x, y = _data()
    result = search(
        _template(),
        x,
        y,
        validation_data=(x[:16], y[:16]),
        tuner="random",
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        trial_isolation="process",
        verbose=0,
    )
    assert [r["status"] for r in result.results] == ["COMPLETED", "COMPLETED"]
    for trial in result.results:
        trial_dir = Path(result.project_dir) / f"trial_{trial['trial_id']}"
        # The child wrote the checkpoint and its result; the parent never trained.
        assert (trial_dir / "checkpoint.weights.h5").exists()
        assert (trial_dir / "nnperf_result.json").exists()
    assert result.best_model.predict(x[:2], verbose=0).shape == (2, 1)


@pytest.mark.slow
def test_a_failing_child_is_recorded_failed(tmp_path):
    x, y = _data()
    # Of the right shape (search checks shapes up front) but text: training fails in the child.
    bad_validation = (np.full((8, 4), "a"), y[:8])
    result = search(
        _template(),
        x,
        y,
        validation_data=bad_validation,
        tuner="random",
        max_trials=1,
        epochs=1,
        directory=tmp_path,
        trial_isolation="process",
        verbose=0,
    )
    assert result.results[0]["status"] == "FAILED"
    assert "Error" in result.results[0]["error"] and result.best_model is None


def test_write_arrays_rejects_what_cannot_be_shared(tmp_path):
    x, y = _data()
    path = write_arrays(str(tmp_path / "data.npz"), x, y, (x, y))
    assert os.path.exists(path)
    with pytest.raises(ValueError, match="x"):
        write_arrays(str(tmp_path / "bad.npz"), {"a": x}, y)
    with pytest.raises(ValueError, match="validation_data"):
        write_arrays(str(tmp_path / "bad.npz"), x, y, x)
