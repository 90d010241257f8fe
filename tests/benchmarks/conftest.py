"""What the tests of `benchmarks/` share: loading a benchmark script as a module."""

import importlib.util
import os

import pytest

_BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", os.path.join(_BENCHMARKS, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_benchmark():
    """`load_benchmark(name)`: `benchmarks/<name>.py` as a module (the scripts are no package)."""
    return _load
