# Visselpipa: `make run` starts a working system, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= instance

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Demo mode: serves plain HTTP on 127.0.0.1 only, so cookies cannot carry the
# __Host- prefix there; production runs behind TLS with the defaults.
run: $(STAMP)
	VISSELPIPA_DATA_DIR=$(DATA) $(BIN)/visselpipa init --demo --if-missing
	VISSELPIPA_DATA_DIR=$(DATA) VISSELPIPA_PLAIN_HTTP=1 $(BIN)/visselpipa serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy crypto caseflow

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
