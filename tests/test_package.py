import subprocess
import sys


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_missing_backend_gives_one_clear_error_naming_the_extra():
    # A None entry in sys.modules makes `import tensorflow` fail as it would with no backend.
    result = _run("import sys; sys.modules['tensorflow'] = None; import keras_nnperf")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: keras_nnperf needs Keras 3 with a backend")
    assert "keras-nnperf[cpu]" in last_line


def test_version_is_exposed():
    import keras_nnperf

    assert keras_nnperf.__version__.count(".") == 2
