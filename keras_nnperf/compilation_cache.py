"""JAX's persistent compilation cache: identical networks compile once, not once each.

On JAX, Keras compiles each model's train, test and predict steps with XLA, and a new model's
step is a new function: a network identical to the last one compiles again, however often. A
run of `nnperf fit` trains identical networks several times (the range test's copy, each member
of a seed ensemble, each fold of `--folds`, the trials of a search that share an architecture),
and a notebook rebuilds its model on every rerun of a cell. Measured on this package's CPU
machine (2,048 x 20 inputs, Dense 64, one epoch): a second identical model's first `fit` takes
2.05 s without the cache and 0.38 s with it; in a new process the first model's, 4.44 s and
0.68 s.

JAX keeps compiled programs across functions, and across processes, only in its persistent
cache, which is off until `jax_compilation_cache_dir` is set (JAX's docs, "Persistent
compilation cache"). A library does not change JAX's configuration behind its user's back, so
`import keras_nnperf` does not turn it on; the `nnperf` command, an application, does (in
`NNPERF_JAX_CACHE`, else `~/.cache/keras_nnperf/jax`; `NNPERF_JAX_CACHE=off` leaves it off),
and a notebook calls `enable_jax_compilation_cache()` before it builds a model. A cache the
user configured (`JAX_COMPILATION_CACHE_DIR`, `jax.config.update`) is kept as it is.

TensorFlow builds its graphs without XLA unless asked (`jit_compile=True`) and PyTorch runs
eagerly, so on those backends this does nothing.
"""

from __future__ import annotations

import os

import keras

#: The environment variable naming the cache folder of the `nnperf` command; `off` disables it.
ENVIRONMENT_VARIABLE = "NNPERF_JAX_CACHE"

#: Values of `NNPERF_JAX_CACHE` that leave the cache off.
OFF = frozenset({"off", "0", "false", "no", "none"})

#: Programs that compile faster than this are not written to the cache (JAX's default, 1 s,
#: would leave out a small network's train step, 0.2-2 s on a CPU, the very thing to keep).
MIN_COMPILE_SECONDS = 0.05


def default_directory(environ=None) -> str | None:
    """The `nnperf` command's cache folder: `NNPERF_JAX_CACHE`, else under `~/.cache`.

    Args:
        environ: The environment to read (default: `os.environ`).

    Returns:
        The folder, or `None` when `NNPERF_JAX_CACHE` is `off` (or `0`, `false`, `no`, `none`).
    """
    environ = os.environ if environ is None else environ
    chosen = environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if chosen.lower() in OFF:
        return None
    if chosen:
        return chosen
    cache_home = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache_home, "keras_nnperf", "jax")


def enable_jax_compilation_cache(directory: str | os.PathLike | None = None) -> str | None:
    """Turn on JAX's persistent compilation cache, so identical networks compile once.

    Call it before the first model is built (JAX reads the setting when it first compiles).

    Args:
        directory: The cache folder, created if missing (default: `default_directory()`).

    Returns:
        The folder in use: a folder the user configured already is kept and returned. `None`
        when the Keras backend is not JAX, or `directory` is `None` and `NNPERF_JAX_CACHE` is
        `off`.

    Raises:
        ValueError: if `directory` is not a path or is empty.

    Example:
    ```python
    import keras_nnperf as nnp
    nnp.enable_jax_compilation_cache()  # ~/.cache/keras_nnperf/jax
    ```
    """
    if directory is not None:
        if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory).strip():
            raise ValueError(f"directory must be a non-empty path, got {directory!r}")
    if keras.backend.backend() != "jax":
        return None
    import jax

    configured = jax.config.jax_compilation_cache_dir
    if configured:
        return configured
    chosen = os.fspath(directory) if directory is not None else default_directory()
    if chosen is None:
        return None
    os.makedirs(chosen, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", chosen)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return chosen
