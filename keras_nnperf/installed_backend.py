"""For the `nnperf` command: a Keras backend that is installed, when the configured one is not.

Keras reads its backend from `KERAS_BACKEND`, else from `keras.json` in Keras's home folder,
else uses TensorFlow, and then imports it: in an environment with JAX or PyTorch alone
(`pip install keras-nnperf[jax]`, a Kaggle TPU image), `nnperf fit` ended in a 40-line
`ModuleNotFoundError: No module named 'tensorflow'` from inside Keras. The command, an
application, may choose for the user: when no `KERAS_BACKEND` is set and the configured
backend is not installed, it sets `KERAS_BACKEND` to one that is (JAX, then PyTorch, then
TensorFlow) and says so. A library never does this: `import keras_nnperf` leaves the choice to
Keras and to the user.

Keras has no public way to ask which backend it will use without importing it (the import is
what fails), so `configured_backend` repeats Keras 3's rule; `tests/test_installed_backend.py`
checks it against `keras.config.backend()` in a fresh process, and fails when Keras moves it.
"""

from __future__ import annotations

import importlib.util
import json
import os

#: The module each backend imports; backends not listed here (NumPy, OpenVINO) are left to Keras.
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}

#: The order in which an installed backend is chosen.
PREFERENCE = ("jax", "torch", "tensorflow")


def keras_home(environ=None) -> str:
    """Keras's home folder: `KERAS_HOME`, else `~/.keras`, else `/tmp/.keras` (Keras 3's rule)."""
    environ = os.environ if environ is None else environ
    if "KERAS_HOME" in environ:
        return environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def configured_backend(environ=None) -> str:
    """The backend Keras will import: `KERAS_BACKEND`, else `keras.json`'s, else TensorFlow."""
    environ = os.environ if environ is None else environ
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    path = os.path.expanduser(os.path.join(keras_home(environ), "keras.json"))
    try:
        with open(path) as file:
            config = json.load(file)
    except (OSError, ValueError):
        config = {}
    backend = config.get("backend", "tensorflow") if isinstance(config, dict) else "tensorflow"
    return str(backend)


def is_installed(backend: str) -> bool:
    """Whether the backend's module can be imported (found without importing it)."""
    module = BACKEND_MODULES.get(backend)
    return module is not None and importlib.util.find_spec(module) is not None


def choose_installed_backend(environ=None) -> str | None:
    """Set `KERAS_BACKEND` to an installed backend when Keras's own choice is not installed.

    Nothing changes when `KERAS_BACKEND` is set (the user chose), when the configured backend
    is installed or is one Keras imports otherwise (`numpy`, `openvino`), or when no backend is
    installed (Keras's error then names the missing one).

    Args:
        environ: The environment to read and change; default `os.environ`.

    Returns:
        A sentence for the user when a backend was chosen, else `None`.
    """
    environ = os.environ if environ is None else environ
    if environ.get("KERAS_BACKEND"):
        return None
    configured = configured_backend(environ)
    if configured not in BACKEND_MODULES or is_installed(configured):
        return None
    for backend in PREFERENCE:
        if is_installed(backend):
            environ["KERAS_BACKEND"] = backend
            return (
                f"Keras is set to the {configured} backend, which is not installed; using "
                f"{backend}, which is (set KERAS_BACKEND to choose)"
            )
    return None
