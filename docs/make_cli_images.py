"""Regenerate the pictures of docs/cli.md from a real `nnperf demo` run.

Run from the repository root: python docs/make_cli_images.py
"""

import os
import shutil
import sys
import tempfile

from keras_nnperf.cli import main

IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def run() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "report")
        code = main(["demo", "--out", out, "--seed", "0"])
        if code:
            return code
        os.makedirs(IMAGES, exist_ok=True)
        for name in ("schedule", "training_curves"):
            shutil.copy(os.path.join(out, f"{name}.png"), os.path.join(IMAGES, f"cli_{name}.png"))
            print("wrote", os.path.join(IMAGES, f"cli_{name}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(run())
