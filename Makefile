# steepest — set-up, demo, tests, lint and benchmarks. Needs only python3 (≥ 3.11) on PATH.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow lint bench docs install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/steepest info
	$(BIN)/steepest tour --quick --out runs/tour
	@echo "open runs/tour/index.html (the full tour: steepest tour --out runs/tour-full)"

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/steepest

$(VENV)/.bench: pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,dev,bench]'
	touch $(VENV)/.bench

# make bench [QUICK=1]: every benchmarks/bench_*.py, then one table (benchmarks/results.md)
bench: $(STAMP) $(VENV)/.bench
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick,)

# the user guide (mkdocs, strict: no broken links) into site/
docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict

clean:
	rm -rf $(VENV) runs site .pytest_cache .ruff_cache .mypy_cache
