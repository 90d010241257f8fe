"""A saved model in a process that never imported keras_nnperf.

Keras 3.15 has no plugin or entry-point registry for serializable objects: `load_model` finds a
custom class only if the module that registers it has been imported (it imports modules by itself
only for the packages `keras`, `keras_hub`, `keras_cv` and `keras_nlp`; read
`keras/src/saving/serialization_lib.py`, `_retrieve_class_or_fn`). So `import keras_nnperf` must
come before `load_model`; the error Keras raises without it names our registered name, and
`keras_nnperf.registry`'s docstring and docs/layers.md say what to do. If a later Keras adds an
entry point, the first test here starts failing and we should register on it.
"""

import os
import subprocess
import sys

import keras
import numpy as np

import keras_nnperf as nnp

LOAD = """
import sys
{imports}
import keras
import numpy as np
model = keras.models.load_model(sys.argv[1])
print(float(np.sum(keras.ops.convert_to_numpy(model(np.ones((2, 4), "float32"))))))
"""


def _load_in_fresh_process(path, imports=""):
    return subprocess.run(
        [sys.executable, "-c", LOAD.format(imports=imports), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": keras.backend.backend()},
    )


def test_load_without_import_fails_naming_our_package_and_works_after_import(tmp_path):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), nnp.layers.PReLU(), nnp.layers.Mish()]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    expected = float(np.sum(keras.ops.convert_to_numpy(model(np.ones((2, 4), "float32")))))

    bare = _load_in_fresh_process(path)
    assert bare.returncode != 0
    assert "TypeError" in bare.stderr and "Could not locate class 'PReLU'" in bare.stderr
    # The registered name and module in Keras's message tell the user what to import.
    assert "'registered_name': 'keras_nnperf>PReLU'" in bare.stderr

    loaded = _load_in_fresh_process(path, imports="import keras_nnperf  # noqa: F401")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    np.testing.assert_allclose(float(loaded.stdout.strip().splitlines()[-1]), expected, rtol=1e-5)
