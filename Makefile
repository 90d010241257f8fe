# Two entry points that work on a fresh machine with only python3 and make.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nnperf demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	$(PY) benchmarks/activations.py
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/convergence.py
	$(PY) benchmarks/tuning.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
