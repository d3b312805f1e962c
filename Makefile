# Visselpipa: `make run` starts a working system, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= instance

.PHONY: install run test lint audit messages clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Demo mode: serves plain HTTP on 127.0.0.1 only, so cookies cannot carry the
# __Host- prefix there; production runs behind TLS with the defaults.
run: $(STAMP)
	VISSELPIPA_DATA_DIR=$(DATA) $(BIN)/visselpipa init --demo --if-missing
	VISSELPIPA_DATA_DIR=$(DATA) VISSELPIPA_PLAIN_HTTP=1 $(BIN)/visselpipa serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Static checks (CI runs them after the tests): ruff, mypy strict on crypto/,
# caseflow/, identity/, reporting/, sanitize/ and config/, bandit with no finding
# of high severity.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy crypto caseflow identity reporting sanitize config
	$(BIN)/bandit -q -r app crypto caseflow identity reporting sanitize config migrations --severity-level high

# Known vulnerabilities in the locked dependencies. Needs PyPI's JSON API;
# not part of CI, whose network reaches the package index but not that API.
audit:
	$(PYTHON) -m venv .venv-audit
	.venv-audit/bin/pip install --quiet pip-audit==2.10.1
	.venv-audit/bin/pip-audit --strict -r requirements.lock

# Re-extract the texts, merge them into the Swedish catalogue, compile it.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k lazy_ngettext:1,2 --no-location -o /tmp/visselpipa.pot .
	$(BIN)/pybabel update -i /tmp/visselpipa.pot -d app/translations -l sv --width=100
	$(BIN)/pybabel compile -d app/translations -l sv

clean:
	rm -rf $(VENV) .venv-audit instance .pytest_cache .hypothesis
