"""Shared test set-up: the backend from KERAS_BACKEND, quiet TensorFlow, fixed seeds.

The suite runs on every Keras backend (`make test` runs it on TensorFlow, JAX and PyTorch, each in
its own venv). A test that needs TensorFlow by nature says so with
`@pytest.mark.tensorflow_only("reason")`, and is skipped with that reason on other backends.
"""

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# JAX's persistent compilation cache (`keras_nnperf.compilation_cache`): `make test-jax` names a
# fresh folder, shared by its workers, so the many identical test models compile once; a plain
# `pytest` leaves it off, and the `nnperf` command run in-process writes nothing under ~/.cache.
os.environ.setdefault("NNPERF_JAX_CACHE", "off")

import keras  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    import tensorflow as tf

    # MirroredStrategy tests need two devices; logical devices can only be set before TF starts.
    _cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
        )
    except RuntimeError:  # TensorFlow was already initialised by another plugin.
        pass

if BACKEND == "jax":
    from keras_nnperf.compilation_cache import enable_jax_compilation_cache

    enable_jax_compilation_cache()

# TensorFlow and Keras leave a very large heap after import; freezing it keeps every garbage
# collection during the tests down to the objects the tests create.
gc.freeze()


def _marker_reason(item, name):
    marker = item.get_closest_marker(name)
    if marker is None:
        return None
    reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
    if not reason:
        raise pytest.UsageError(f"{item.nodeid}: {name} needs a reason")
    return reason


def _compiles(item) -> bool:
    # On PyTorch, Keras refuses steps_per_execution > 1 (by nature), and maps jit_compile=True to
    # torch.compile rather than XLA: that works, but compiling costs tens of seconds per model
    # (28 s for a tiny one, measured), so the jit cases are skipped there for the CI budget;
    # the eager case of each test still runs.
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return False
    if callspec.params.get("jit_compile") is True or callspec.params.get("mode") == "jit":
        return True
    return any(part in ("jit", "xla", "steps_per_execution") for part in callspec.id.split("-"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = _marker_reason(item, "tensorflow_only")
        if reason is not None and BACKEND != "tensorflow":
            item.add_marker(pytest.mark.skip(reason=f"TensorFlow only: {reason}"))
        reason = _marker_reason(item, "not_on_torch")
        if BACKEND == "torch" and (reason is not None or _compiles(item)):
            reason = reason or (
                "steps_per_execution > 1 does not exist on the PyTorch backend, and its "
                "jit_compile (torch.compile) is skipped for the CI time budget"
            )
            item.add_marker(pytest.mark.skip(reason=f"Not on PyTorch: {reason}"))


@pytest.fixture(autouse=True)
def _seed_and_clean():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")
    # Python's garbage collection after every test cost more than the tests themselves.
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def run_on_two_jax_devices():
    """`run(script) -> dict`: run `script` on JAX with two host devices, return its JSON result.

    JAX fixes its device count when it starts, from `XLA_FLAGS`, so data-parallel training
    (`keras.distribution.DataParallel`) is tested in a fresh process. The script prints one JSON
    object as its last line of output; a failing script fails the test with its stderr.
    """
    if BACKEND != "jax":
        pytest.skip("keras.distribution.DataParallel runs on JAX")
    import json
    import subprocess
    import sys

    def run(script: str) -> dict:
        env = {
            **os.environ,
            "KERAS_BACKEND": "jax",
            "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        }
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run
