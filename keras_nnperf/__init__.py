"""keras_nnperf: make Keras 3 networks train better and faster.

Non-dying activations, variance-preserving initializers, in-graph learning-rate schedules and
their callbacks, training diagnostics, and Keras-Tuner templates. Every public object is
registered by name (see `keras_nnperf.registry`) and with Keras serialization, so saved models
load with no `custom_objects`.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _started_as_the_command() -> bool:
    """True while the `nnperf` command (or `python -m keras_nnperf`) is starting.

    The command answers `--help` at once and quiets TensorFlow before importing it; both need
    this package's import to leave Keras alone. A library import (anything else) loads the whole
    API at once, so every object is registered before `keras.models.load_model`.
    """
    script = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    if script in ("nnperf", "nnperf.exe", "nnperf-script.py"):
        return True
    argv = list(getattr(_sys, "orig_argv", []))
    return any(a == "-m" and b == __name__ for a, b in zip(argv, argv[1:], strict=False))


if _started_as_the_command():

    def __getattr__(name):
        # Reached only for names not loaded yet. A submodule is imported alone (the command
        # imports what each subcommand needs); any other name loads the whole API first.
        import importlib
        import importlib.util

        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            return importlib.import_module(f"{__name__}.{name}")
        from keras_nnperf import _api

        public = {n: getattr(_api, n) for n in _api.__all__}
        globals().update(public, __all__=list(_api.__all__))
        if name not in public:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return public[name]

else:
    from keras_nnperf._api import *  # noqa: F403
    from keras_nnperf._api import __all__  # noqa: F401
