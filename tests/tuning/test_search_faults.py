"""`search` under faults and misuse: stale projects, bad inputs, NaN trials, silence, disk."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest

from keras_nnperf.tuning.hyper_mlp import HyperMLP
from keras_nnperf.tuning.result import SearchResult, trial_order
from keras_nnperf.tuning.search import FINGERPRINT_FILE, fingerprint, search
from keras_nnperf.tuning.tuner import non_finite_loss_epoch


def _template(cls=HyperMLP, **kwargs):
    return cls(
        num_features=4,
        max_layers=1,
        activations=["relu", "elu"],
        optimizers=["adam"],
        lr_schedules=["constant"],
        batch_sizes=[32],
        **kwargs,
    )


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")


QUICK = {"tuner": "random", "epochs": 1, "verbose": 0, "seed": 1}


# --- the fingerprint and resuming -----------------------------------------------------------


def test_fingerprint_changes_with_the_data_and_the_template_only():
    x, y = _data()
    settings = {"tuner": "asha", "epochs": 3}
    base = fingerprint(_template(), x, y, None, settings)["digest"]
    assert fingerprint(_template(), x.copy(), y.copy(), None, settings)["digest"] == base
    changed = x.copy()
    changed[5, 2] += 1e-3
    assert fingerprint(_template(), changed, y, None, settings)["digest"] != base
    assert fingerprint(_template(), x[:-1], y[:-1], None, settings)["digest"] != base
    assert fingerprint(_template(), x, y, None, {**settings, "epochs": 4})["digest"] != base
    other = HyperMLP(
        num_features=4,
        max_layers=2,
        activations=["relu", "elu"],
        optimizers=["adam"],
        lr_schedules=["constant"],
        batch_sizes=[32],
    )
    assert fingerprint(other, x, y, None, settings)["digest"] != base


def test_default_project_is_per_fingerprint_and_outside_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    x, y = _data()
    first = search(_template(), x, y, max_trials=1, **QUICK)
    assert list(work.iterdir()) == []  # nothing written into the working folder
    project = Path(first.project_dir)
    assert project.parent == tmp_path / "cache" / "keras_nnperf" / "search"
    assert (project / FINGERPRINT_FILE).exists()
    # Other data: another project, not the old search's result.
    x2, y2 = _data(seed=1)
    second = search(_template(), x2, y2, max_trials=1, **QUICK)
    assert second.project_dir != first.project_dir
    assert second.results[0]["score"] is not None


def test_a_named_project_with_other_data_is_refused_unless_asked(tmp_path):
    x, y = _data()
    named = {"directory": tmp_path, "project_name": "mine", **QUICK}
    first = search(_template(), x, y, max_trials=1, **named)
    x2, y2 = _data(seed=1)
    with pytest.raises(ValueError, match="holds a different search: its data differ"):
        search(_template(), x2, y2, max_trials=1, **named)
    with pytest.warns(UserWarning, match="Resuming the project"):
        resumed = search(_template(), x2, y2, max_trials=1, resume=True, **named)
    assert resumed.results == first.results  # max_trials reached: nothing new ran
    fresh = search(_template(), x2, y2, max_trials=1, overwrite=True, **named)
    assert fresh.results[0]["score"] != first.results[0]["score"] or (
        fresh.results[0]["elapsed_seconds"] != first.results[0]["elapsed_seconds"]
    )
    # The overwritten project now records the new data: resuming it needs nothing.
    again = search(_template(), x2, y2, max_trials=1, **named)
    assert again.results == fresh.results


def test_a_project_without_fingerprint_is_not_silently_reused(tmp_path):
    (tmp_path / "old" / "trial_0").mkdir(parents=True)
    x, y = _data()
    with pytest.raises(ValueError, match="no fingerprint"):
        search(_template(), x, y, directory=tmp_path, project_name="old", **QUICK)


# --- Ctrl-C ---------------------------------------------------------------------------------


class _CtrlCAtEpochEnd(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


class CtrlCInTrial(HyperMLP):
    """Presses Ctrl-C at the end of the first epoch of its `at`-th trial (1-based)."""

    def __init__(self, *, at, **kwargs):
        super().__init__(**kwargs)
        # Private: the search's fingerprint reads public attributes, and a resume must match.
        self._at, self._trials = at, 0

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        self._trials += 1
        if self._trials == self._at:
            callbacks = [*(callbacks or []), _CtrlCAtEpochEnd()]
        return super().fit(hp, model, *args, callbacks=callbacks, **kwargs)


def _ctrl_c_template(at):
    return _template(CtrlCInTrial, at=at)


def test_ctrl_c_keeps_the_completed_trials_and_resume_reruns_the_dropped_one(tmp_path):
    x, y = _data(64)
    train, val = (x[:48], y[:48]), (x[48:], y[48:])
    settings = {"directory": tmp_path, "validation_data": val, **QUICK, "epochs": 2}
    result = search(_ctrl_c_template(3), *train, max_trials=4, keep_on_interrupt=True, **settings)
    assert result.interrupted and "interrupted (Ctrl-C)" in str(result)
    statuses = [(r["trial_id"], r["status"]) for r in result.results]
    assert statuses == [("0", "COMPLETED"), ("1", "COMPLETED"), ("2", "RUNNING")]
    # The best completed trial, not the dropped one, whose first epoch had been checkpointed.
    assert result.best_trial_id in ("0", "1")
    score = result.best_model.evaluate(*val, verbose=0, return_dict=True)["accuracy"]
    assert score == pytest.approx(result.best_trial["score"], abs=1e-6)
    resumed = search(_ctrl_c_template(0), *train, max_trials=4, **settings)
    assert not resumed.interrupted and resumed.project_dir == result.project_dir
    assert [r["status"] for r in resumed.results] == ["COMPLETED"] * 4
    assert resumed.results[:2] == result.results[:2]  # kept as they were, not run again


@pytest.mark.parametrize("at, keep", [(3, False), (1, True)])
def test_ctrl_c_propagates_without_the_option_or_a_completed_trial(tmp_path, at, keep):
    x, y = _data()
    with pytest.raises(KeyboardInterrupt):
        search(
            _ctrl_c_template(at),
            x,
            y,
            max_trials=4,
            directory=tmp_path,
            keep_on_interrupt=keep,
            **QUICK,
        )


def test_ctrl_c_with_workers_reads_the_completed_trials_from_the_project(tmp_path, monkeypatch):
    from keras_nnperf.tuning import distributed
    from keras_nnperf.tuning.search import run_search

    x, y = _data()

    def two_trials_then_ctrl_c(template, x, y, validation_data, settings, workers):
        # Stands in for the chief and its workers: the chief saves the oracle at every
        # trial's end, so the project holds the trials completed before the interrupt.
        run_search(template, x, y, validation_data, {**settings, "max_trials": 2})
        raise KeyboardInterrupt

    monkeypatch.setattr(distributed, "run_workers", two_trials_then_ctrl_c)
    monkeypatch.setattr(distributed, "check_requirements", lambda: None)
    kwargs = {"max_trials": 4, "directory": tmp_path, "workers": 2, **QUICK}
    result = search(_template(), x, y, keep_on_interrupt=True, **kwargs)
    assert result.interrupted
    assert [r["status"] for r in result.results] == ["COMPLETED"] * 2
    assert result.best_model is not None
    with pytest.raises(KeyboardInterrupt):
        search(_template(), x, y, overwrite=True, **kwargs)


# --- memory ---------------------------------------------------------------------------------


def test_no_trained_model_outlives_an_in_process_search(tmp_path):
    import gc

    gc.collect()
    before = [o for o in gc.get_objects() if isinstance(o, keras.Model)]  # other tests' models
    x, y = _data()
    # A scheduled rate: the schedule's callbacks install gradient hooks, whose registry leaked.
    template = HyperMLP(num_features=4, max_layers=1, lr_schedules=["one_cycle"], batch_sizes=[32])
    result = search(template, x, y, max_trials=2, directory=tmp_path, **QUICK)
    best = result.best_model
    del result
    gc.collect()
    alive = [
        o
        for o in gc.get_objects()
        if isinstance(o, keras.Model) and not any(o is old for old in before)
    ]
    assert alive == [best]  # only the model we were handed, rebuilt from the checkpoint


# --- checkpoints on disk --------------------------------------------------------------------


def test_only_the_best_trials_keep_their_weights(tmp_path):
    x, y = _data()
    result = search(
        _template(), x, y, max_trials=4, directory=tmp_path, keep_checkpoints=1, **QUICK
    )
    assert [r["status"] for r in result.results] == ["COMPLETED"] * 4
    kept = sorted(p.parent.name for p in Path(result.project_dir).glob("*/checkpoint.weights.h5"))
    assert kept == [f"trial_{result.best_trial_id}"]
    assert result.best_model.predict(x[:2], verbose=0).shape == (2, 1)


# --- the summary ----------------------------------------------------------------------------


def test_summary_is_a_few_lines():
    results = [
        {
            "trial_id": str(i),
            "status": "COMPLETED",
            "score": 0.5 + i / 100,
            "best_step": 0,
            "hyperparameters": {f"h{j}": j * 0.123456 for j in range(40)},
        }
        for i in range(50)
    ] + [
        {
            "trial_id": "50",
            "status": "FAILED",
            "score": None,
            "best_step": None,
            "hyperparameters": {},
        }
    ]
    result = SearchResult(
        best_model=None,
        best_hyperparameters=None,
        results=results,
        objective="val_accuracy",
        direction="max",
        best_trial_id="49",
        elapsed_seconds=12.34,
        project_dir="/p/x",
    )
    text = str(result)
    assert repr(result) == text
    lines = text.splitlines()
    assert len(lines) == 4 and len(text) < 600
    assert "51 trial(s) (50 completed, 1 failed) in 12.3 s" in lines[0]
    assert "best: trial 49, val_accuracy=0.99" in lines[1]
    assert "h1=0.123" in lines[2] and "(+30 more)" in lines[2]
    empty = SearchResult(best_model=None, best_hyperparameters=None)
    assert "no trial completed" in str(empty)


def test_trials_come_in_numeric_order():
    ids = ["0", "08", "09", "1", "10", "2"]
    assert sorted(ids, key=trial_order) == ["0", "1", "2", "08", "09", "10"]


# --- NaN trials -----------------------------------------------------------------------------


class NaNLoss(kt.HyperModel):
    """A binary model whose loss is NaN, and whose accuracy still looks real (constant guess)."""

    def build(self, hp):
        hp.Choice("units", [4])
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, "sigmoid")])

        def nan_loss(y_true, y_pred):
            return keras.ops.mean(y_pred) * float("nan")

        model.compile("sgd", nan_loss, metrics=["accuracy"])
        return model


def test_non_finite_loss_epoch():
    history = keras.callbacks.History()
    history.history = {"loss": [1.0, 0.5, float("nan"), 0.2]}
    assert non_finite_loss_epoch(history) == 3
    history.history = {"loss": [1.0, float("inf")]}
    assert non_finite_loss_epoch(history) == 2
    history.history = {"loss": [1.0, 0.5]}
    assert non_finite_loss_epoch(history) is None
    assert non_finite_loss_epoch(0.5) is None


def test_a_trial_whose_loss_went_nan_is_failed(tmp_path):
    x, y = _data()
    result = search(
        NaNLoss(),
        x,
        y,
        objective="val_accuracy",
        max_trials=1,
        directory=tmp_path,
        tuner="random",
        epochs=3,
        verbose=0,
    )
    [trial] = result.results
    assert trial["status"] == "FAILED" and trial["score"] is None
    assert "NonFiniteLossError" in trial["error"] and "epoch 1" in trial["error"]
    assert result.best_model is None


# --- silence --------------------------------------------------------------------------------


class AlwaysFails(HyperMLP):
    def build(self, hp):
        super().build(hp)
        raise RuntimeError("this template cannot build")


def test_verbose_0_prints_nothing_even_for_failed_trials(tmp_path, capsys):
    x, y = _data()
    result = search(
        AlwaysFails(
            num_features=4,
            max_layers=1,
            optimizers=["adam"],
            lr_schedules=["constant"],
            batch_sizes=[32],
        ),
        x,
        y,
        max_trials=2,
        directory=tmp_path,
        **QUICK,
    )
    assert [r["status"] for r in result.results] == ["FAILED", "FAILED"]
    assert "this template cannot build" in result.results[0]["error"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# --- inputs checked up front ----------------------------------------------------------------


@pytest.mark.parametrize(
    "change, match",
    [
        ({"y": np.zeros(47, "float32")}, r"x and y must have as many rows.*len\(y\)=47"),
        ({"x": np.zeros((48, 5), "float32")}, r"does not fit the template HyperMLP.*\(48, 5\)"),
        (
            {"validation_data": (np.zeros((8, 3), "float32"), np.zeros(8, "float32"))},
            "x_val does not fit",
        ),
        (
            {"validation_data": (np.zeros((8, 4), "float32"), np.zeros(7, "float32"))},
            "x_val and y_val",
        ),
        ({"project_name": "../escape"}, "project_name must be a plain folder name"),
        ({"project_name": "a/b"}, "project_name"),
        ({"project_name": ".."}, "project_name"),
        ({"time_budget": float("nan")}, "time_budget"),
        ({"time_budget": True}, "time_budget"),
        ({"max_trials": 2.5}, "max_trials"),
        ({"keep_checkpoints": 0}, "keep_checkpoints"),
        ({"resume": "yes"}, "resume"),
        ({"overwrite": 1}, "overwrite"),
        ({"jit_compile": 1}, "jit_compile must be 'auto', True or False"),
    ],
)
def test_bad_input_is_one_line_before_anything_runs(tmp_path, change, match):
    x, y = _data()
    arguments = {"x": x, "y": y, **change}
    with pytest.raises(ValueError, match=match) as raised:
        search(_template(), directory=tmp_path, **arguments)
    assert "\n" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # refused before any project was created


def test_numpy_scalars_are_valid_counts(tmp_path):
    x, y = _data()
    result = search(
        _template(),
        x,
        y,
        max_trials=np.int64(1),
        epochs=np.int32(1),
        directory=tmp_path,
        time_budget=np.float32(600),
        tuner="random",
        verbose=0,
    )
    assert len(result.results) == 1


# --- the main guard of process isolation ----------------------------------------------------


UNGUARDED = """
import numpy as np
from keras_nnperf.tuning import HyperMLP, search

x = np.zeros((16, 4), "float32")
y = np.zeros(16, "float32")
print("script body ran", flush=True)
search(HyperMLP(num_features=4), x, y, validation_data=(x, y), directory={directory!r},
       trial_isolation="process", max_trials=1, epochs=1, verbose=0)
"""


def test_process_isolation_without_a_main_guard_is_refused(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(UNGUARDED.format(directory=str(tmp_path / "runs"))))
    run = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode != 0
    assert "outside `if __name__ == '__main__':`" in run.stderr
    assert f"{script}:8" in run.stderr
    assert run.stdout.count("script body ran") == 1  # no child re-ran the script
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "body, unguarded_line",
    [
        ("probe()\n", 1),
        ("if __name__ == '__main__':\n    probe()\n", None),
        ("def main():\n    probe()\n\n\nif __name__ == '__main__':\n    main()\n", None),
        ("def main():\n    probe()\n\n\nmain()\n", 5),
    ],
)
def test_the_main_guard_check_finds_the_calling_line(tmp_path, body, unguarded_line):
    from keras_nnperf.tuning.search import _unguarded_main_line

    script = tmp_path / "script.py"
    script.write_text(body)
    main = type(sys)("__main__")
    main.__file__ = str(script)
    found = []
    main.probe = lambda: found.append(_unguarded_main_line(main))
    exec(compile(body, str(script), "exec"), vars(main))
    assert found == [None if unguarded_line is None else f"{script}:{unguarded_line}"]
