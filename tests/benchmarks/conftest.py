"""What the tests of `benchmarks/` share: loading a benchmark script as a module."""

import importlib.util
import os
import sys

import pytest

_BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", os.path.join(_BENCHMARKS, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    # A script imports its sibling scripts (`import tabular`), as when run from `benchmarks/`.
    # The folder is on the path only while the script loads: its `compression.py` would shadow
    # the standard library's `compression`, which JAX imports.
    sys.path.insert(0, _BENCHMARKS)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(_BENCHMARKS)
    return module


@pytest.fixture(scope="session")
def load_benchmark():
    """`load_benchmark(name)`: `benchmarks/<name>.py` as a module (the scripts are no package)."""
    return _load
