# eHub: `make demo` and `make test` are the two commands; each sets up .venv on first use.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; \
	done)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.ehub-installed
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint format bench messages clean help

help:
	@echo "make demo   set up and serve eHub on http://127.0.0.1:8000 (SQLite, demo data, worker)"
	@echo "make test   set up and run the whole test suite (EHUB_TEST_DATABASE_URL for PostgreSQL)"
	@echo "make lint   ruff check + format check"
	@echo "make bench  run the benchmarks under bench/"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "eHub needs Python 3.11 or newer (python3.11+ not found on PATH)"; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(STAMP)
	EHUB_DEBUG=$${EHUB_DEBUG:-1} $(BIN)/ehub demo

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	EHUB_DEBUG=1 $(BIN)/python -m bench

messages: $(STAMP)
	cd src/ehub && EHUB_DEBUG=1 ../../$(BIN)/ehub makemessages -l ms -l zh_Hans --ignore '.venv/*'
	cd src/ehub && EHUB_DEBUG=1 ../../$(BIN)/ehub compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
