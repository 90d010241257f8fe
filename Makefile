# Two entry points that work on a fresh machine with only python3 and make: `make demo` and
# `make test`. Every environment is a venv built from plain python3; its stamp depends on
# pyproject.toml, so a changed dependency re-installs it.
PYTHON ?= python3
VENV ?= .venv
JAX_VENV ?= .venv-jax
TORCH_VENV ?= .venv-torch
# pytest workers per leg; CI has 2 cores.
WORKERS ?= 2
# The PyTorch leg (see README, Development): everything but the notebooks (TensorFlow kernel),
# the data-parallel tests (TF and JAX only) and the multi-process search (it runs on TF and JAX;
# on PyTorch it passes too, in ~2.5 min of waiting on subprocesses).
TORCH_TESTS ?= tests/layers tests/schedules tests/callbacks tests/optimizers tests/initializers \
	tests/diagnostics tests/tuning --ignore=tests/tuning/test_distributed.py \
	tests/tabular tests/test_cli.py tests/test_report.py tests/test_progress.py tests/transfer \
	tests/test_distillation.py tests/test_compression.py \
	tests/test_activations.py tests/test_random_hash.py tests/test_validation.py

SHELL := /bin/bash
PY := $(VENV)/bin/python
PYTEST_FLAGS := -q -p no:cacheprovider --dist loadfile

.PHONY: demo test test-tf test-jax test-torch lint bench clean

# TensorFlow: the demo, the notebooks, lint and the TensorFlow leg.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# JAX, with no TensorFlow installed: what a JAX user has.
$(JAX_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(JAX_VENV)/bin/python -m pip install --quiet -e ".[test,jax]" "jax[cpu]==0.10.*"
	touch $@

# PyTorch, CPU build: torch==2.13.0 is the wheel this machine keeps on disk; any other version
# (or a bare `torch`) would download several GB of CUDA libraries.
$(TORCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TORCH_VENV)/bin/python -m pip install --quiet -e ".[test,torch]" "torch==2.13.0"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/nnperf demo --overwrite

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Each leg prints its wall time (`time`), the figures quoted in README's Development section.
test: lint test-tf test-jax test-torch

test-tf: $(VENV)/.installed
	time env KERAS_BACKEND=tensorflow $(PY) -m pytest -n $(WORKERS) $(PYTEST_FLAGS)

# A fresh JAX compilation cache per run, shared by the workers: identical test models compile once
# (keras_nnperf.compilation_cache).
test-jax: $(JAX_VENV)/.installed
	rm -rf .jax-cache
	time env KERAS_BACKEND=jax NNPERF_JAX_CACHE=$(CURDIR)/.jax-cache \
		$(JAX_VENV)/bin/python -m pytest -n $(WORKERS) $(PYTEST_FLAGS)

test-torch: $(TORCH_VENV)/.installed
	time env KERAS_BACKEND=torch $(TORCH_VENV)/bin/python -m pytest -n $(WORKERS) $(PYTEST_FLAGS) \
		$(TORCH_TESTS)

bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/activations.py
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/convergence.py
	$(PY) benchmarks/tuning.py
	$(PY) benchmarks/lr_suggestion.py
	$(PY) benchmarks/tabular.py

clean:
	rm -rf $(VENV) $(JAX_VENV) $(TORCH_VENV) .jax-cache build *.egg-info .pytest_cache .ruff_cache
