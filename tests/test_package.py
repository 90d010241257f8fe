import os
import subprocess
import sys

import keras
import pytest

BACKEND = keras.backend.backend()


def _run(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": BACKEND, **env},
    )


def test_missing_backend_gives_one_clear_error_naming_the_extra():
    # A None entry in sys.modules makes `import <backend>` fail as it would with none installed.
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[BACKEND]
    result = _run(f"import sys; sys.modules[{module!r}] = None; import keras_nnperf")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: keras_nnperf needs Keras 3 with a backend")
    assert "keras-nnperf[cpu]" in last_line


def test_version_is_exposed():
    import keras_nnperf

    assert keras_nnperf.__version__.count(".") == 2


@pytest.mark.skipif(BACKEND == "tensorflow", reason="TensorFlow is the backend: it is imported")
def test_import_leaves_tensorflow_out_on_other_backends():
    # Even with TensorFlow installed (the TensorFlow venv), only the backend is imported.
    code = (
        "import sys; import keras_nnperf, keras_nnperf.testing, keras_nnperf.tuning; "
        "print(sorted(m for m in ('tensorflow', 'keras_tuner') if m in sys.modules))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert "tensorflow" not in result.stdout, result.stdout


def test_import_with_jax_backend_does_not_import_tensorflow():
    # The one check that runs on every leg, whatever this process's backend.
    pytest.importorskip("jax")
    result = _run(
        "import sys, keras_nnperf; print('tensorflow' in sys.modules)", KERAS_BACKEND="jax"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
