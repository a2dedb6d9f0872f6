# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Both create the local .venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## The main job on the embedded default: the whole chain that exists, small, in minutes.
demo: $(STAMP)
	$(VENV)/bin/vitra-bench demo --out runs/demo

## The full test suite, slow end-to-end tests included (what CI runs).
test: $(STAMP)
	$(PY) -m pytest -q

## Fast tests only, for the edit-test loop.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## Every benchmark script; each prints a table and writes to results/ (the detector ones need MediaPipe).
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,mediapipe]'
	for script in benchmarks/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf runs .pytest_cache
