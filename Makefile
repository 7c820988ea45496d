# Every target works from a fresh clone: the first one run makes the virtual environment.
#   make test   lint, the import contract, then every test
#   make demo   the whole loop on an embedded AWS endpoint
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after each install, so pip runs again only when pyproject.toml is newer.
STAMP := $(VENV)/.installed

.PHONY: test lint demo bench clean distclean

# The end-to-end tests spend much of their time waiting on processes they start (the moto
# server, plumb, git), so one worker more than the cores keeps every core busy; work
# stealing keeps one long test from holding the end. On 2 cores: 15 min 46 s -> 11 min 40 s.
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

# pytest exits 5 when it collects no test: "nothing to run", not a failure.
test: lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist worksteal --durations=15 tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/plumb demo

bench: $(STAMP)
	$(BIN)/python bench/run.py

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .import_linter_cache .mypy_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
