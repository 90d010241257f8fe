import json
import os
import subprocess
import sys

import pytest

from keras_nnperf import installed_backend
from keras_nnperf.installed_backend import (
    choose_installed_backend,
    configured_backend,
    is_installed,
)

INSTALLED = [b for b in installed_backend.BACKEND_MODULES if is_installed(b)]
MISSING = [b for b in installed_backend.BACKEND_MODULES if not is_installed(b)]


def _home(tmp_path, backend):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": backend, "floatx": "float32"}))
    return {"KERAS_HOME": str(tmp_path)}


def test_configured_backend_reads_the_variable_then_keras_json_then_tensorflow(tmp_path):
    assert configured_backend({"KERAS_BACKEND": "torch", **_home(tmp_path, "jax")}) == "torch"
    assert configured_backend(_home(tmp_path, "jax")) == "jax"
    (tmp_path / "keras.json").write_text("{not json")
    assert configured_backend({"KERAS_HOME": str(tmp_path)}) == "tensorflow"
    assert configured_backend({"KERAS_HOME": str(tmp_path / "absent")}) == "tensorflow"


def test_configured_backend_agrees_with_keras_in_a_fresh_process(tmp_path):
    # Keras has no public way to ask before importing; this fails when Keras moves its rule.
    backend = INSTALLED[0]
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(_home(tmp_path, backend))
    out = subprocess.run(
        [sys.executable, "-c", "import keras; print(keras.config.backend())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == configured_backend(env) == backend


def test_choose_installed_backend_changes_nothing_when_the_choice_is_installed_or_given(tmp_path):
    env = {"KERAS_BACKEND": "tensorflow"}
    assert choose_installed_backend(env) is None and env == {"KERAS_BACKEND": "tensorflow"}
    env = _home(tmp_path, INSTALLED[0])
    assert choose_installed_backend(env) is None and "KERAS_BACKEND" not in env
    env = _home(tmp_path, "numpy")  # a backend Keras imports on its own
    assert choose_installed_backend(env) is None and "KERAS_BACKEND" not in env


@pytest.mark.skipif(not MISSING, reason="every backend is installed here")
def test_choose_installed_backend_sets_one_that_is_installed(tmp_path):
    env = _home(tmp_path, MISSING[0])
    note = choose_installed_backend(env)
    chosen = next(b for b in installed_backend.PREFERENCE if is_installed(b))
    assert env["KERAS_BACKEND"] == chosen
    assert note == (
        f"Keras is set to the {MISSING[0]} backend, which is not installed; using {chosen}, "
        "which is (set KERAS_BACKEND to choose)"
    )


def test_choose_installed_backend_leaves_keras_error_when_nothing_is_installed(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(installed_backend, "is_installed", lambda backend: False)
    env = _home(tmp_path, "tensorflow")
    assert choose_installed_backend(env) is None and "KERAS_BACKEND" not in env


def _nnperf(args, env):
    return subprocess.run(
        [sys.executable, "-m", "keras_nnperf", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(not MISSING, reason="every backend is installed here")
def test_the_command_uses_an_installed_backend_and_says_so(tmp_path):
    # A JAX-only environment whose Keras is set to TensorFlow (the default) ended in a
    # 40-line ModuleNotFoundError from inside Keras.
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(_home(tmp_path, MISSING[0]))
    out = _nnperf(["diagnose", str(tmp_path / "absent.csv"), "--target", "y"], env)
    assert out.returncode == 2, out.stderr[-2000:]
    assert f"nnperf: note: Keras is set to the {MISSING[0]} backend, which is not" in out.stderr
    assert "Traceback" not in out.stderr and "absent.csv" in out.stderr


def test_the_command_says_in_one_line_when_keras_cannot_import_its_backend(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax" if "jax" in MISSING else "nonexistent"}
    if env["KERAS_BACKEND"] == "nonexistent":
        pytest.skip("JAX is installed: Keras would import it")
    out = _nnperf(["diagnose", str(tmp_path / "absent.csv"), "--target", "y"], env)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("nnperf: error: Keras could not import its jax backend (")
    assert "KERAS_BACKEND" in out.stderr
