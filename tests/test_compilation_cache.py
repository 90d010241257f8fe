import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nnperf.compilation_cache import default_directory, enable_jax_compilation_cache

ON_JAX = keras.backend.backend() == "jax"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_default_directory_reads_nnperf_jax_cache_then_the_user_cache_folder():
    assert default_directory({"NNPERF_JAX_CACHE": "/data/jax"}) == "/data/jax"
    for off in ("off", "OFF", "0", "false", "no", "none"):
        assert default_directory({"NNPERF_JAX_CACHE": off}) is None
    assert default_directory({"XDG_CACHE_HOME": "/c"}) == os.path.join("/c", "keras_nnperf", "jax")
    home = os.path.join(os.path.expanduser("~"), ".cache", "keras_nnperf", "jax")
    assert default_directory({}) == home
    assert default_directory({"NNPERF_JAX_CACHE": "  "}) == home


@pytest.mark.parametrize("bad", ["", "  ", 3, True, np.float64(1.0), ["/tmp"]])
def test_a_directory_that_is_not_a_path_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match="directory must be a non-empty path"):
        enable_jax_compilation_cache(bad)


@pytest.mark.skipif(ON_JAX, reason="the other backends compile nothing with XLA by default")
def test_on_tensorflow_and_pytorch_it_does_nothing(tmp_path):
    assert enable_jax_compilation_cache(tmp_path / "cache") is None
    assert not (tmp_path / "cache").exists()


# JAX reads its cache settings once per process, when it first compiles: a fresh process each.
FRESH = """
import os, sys
import jax, keras, numpy as np
from keras_nnperf.compilation_cache import enable_jax_compilation_cache
chosen = enable_jax_compilation_cache(sys.argv[1] if len(sys.argv) > 1 else None)
print(chosen)
for _ in range(2):  # two identical models: the second's steps come from the cache
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.ones((32, 4)), np.ones((32, 1)), epochs=1, verbose=0)
    # Train steps only: programs that compile in under the cache's 0.05 s threshold are
    # written or not depending on the machine's load.
    steps = [name for name in os.listdir(chosen) if "train_step" in name] if chosen else []
    print(len(steps))
"""


def _fresh(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("NNPERF_JAX_CACHE",)}
    environment.update(KERAS_BACKEND="jax", **env)
    return subprocess.run(
        [sys.executable, "-c", FRESH, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=REPO,
    )


@pytest.mark.skipif(not ON_JAX, reason="JAX's cache")
def test_a_fresh_process_writes_compiled_steps_to_the_cache_and_reuses_them(tmp_path):
    cache = tmp_path / "cache"
    result = _fresh(str(cache), JAX_COMPILATION_CACHE_DIR="")
    assert result.returncode == 0, result.stderr
    chosen, first, second = result.stdout.split()
    assert chosen == str(cache)
    # The first model's train step was written; the identical second one's came from it.
    assert int(first) > 0
    assert int(second) == int(first)
    again = _fresh(str(cache), JAX_COMPILATION_CACHE_DIR="")
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[1:] == [first, first]  # nor did a second process compile one


@pytest.mark.skipif(not ON_JAX, reason="JAX's cache")
def test_a_cache_the_user_configured_is_kept(tmp_path):
    mine, ours = tmp_path / "mine", tmp_path / "ours"
    mine.mkdir()
    result = _fresh(str(ours), JAX_COMPILATION_CACHE_DIR=str(mine))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == str(mine)
    assert not ours.exists()


@pytest.mark.skipif(not ON_JAX, reason="JAX's cache")
def test_nnperf_jax_cache_off_leaves_it_off(tmp_path):
    result = _fresh(NNPERF_JAX_CACHE="off", JAX_COMPILATION_CACHE_DIR="", HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "0", "0"]
    assert not (tmp_path / ".cache" / "keras_nnperf").exists()


@pytest.mark.skipif(not ON_JAX, reason="JAX's cache")
def test_the_nnperf_command_turns_it_on_in_nnperf_jax_cache(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    rows = "\n".join(f"{a:.3f},{b:.3f},{int(a + b > 0)}" for a, b in x)
    (tmp_path / "t.csv").write_text("a,b,y\n" + rows + "\n")
    environment = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    environment.update(KERAS_BACKEND="jax", NNPERF_JAX_CACHE=str(tmp_path / "cache"))
    argv = ["fit", str(tmp_path / "t.csv"), "--target", "y", "--epochs", "1", "--lr", "0.01"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_nnperf",
            *argv,
            "--ensemble",
            "1",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert len(os.listdir(tmp_path / "cache")) > 0
