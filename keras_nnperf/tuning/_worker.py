"""Entry point of a launched chief or worker: `python -m keras_nnperf.tuning._worker SPEC_DIR`.

The role comes from `KERASTUNER_TUNER_ID`; the template, data and settings from `SPEC_DIR`
(written by `keras_nnperf.tuning.distributed.run_workers`).
"""

from __future__ import annotations

import json
import os
import pickle
import sys

import numpy as np


def main(spec_dir: str) -> None:
    """Run this process's role of the search described in `spec_dir`.

    First of all, watch the launching process: if it dies (even by SIGKILL), remove `spec_dir`
    and exit, so no chief or worker outlives the search.
    """
    from keras_nnperf.tuning.distributed import PARENT_PID_VARIABLE
    from keras_nnperf.tuning.isolation import exit_with_parent

    if os.environ.get(PARENT_PID_VARIABLE):
        exit_with_parent(int(os.environ[PARENT_PID_VARIABLE]), cleanup=spec_dir)
    from keras_nnperf.tuning.search import run_search

    with open(os.path.join(spec_dir, "template.pkl"), "rb") as file:
        template = pickle.load(file)
    with open(os.path.join(spec_dir, "settings.json")) as file:
        settings = json.load(file)
    with np.load(os.path.join(spec_dir, "data.npz")) as data:
        arrays = {name: data[name] for name in data.files}
    validation_data = (arrays["x_val"], arrays["y_val"]) if "x_val" in arrays else None
    run_search(template, arrays["x"], arrays["y"], validation_data, settings, collect=False)


if __name__ == "__main__":
    main(sys.argv[1])
