# `make run`: install, migrate, load the demo and serve on http://127.0.0.1:5000
# `make test`: the whole suite on SQLite and on PostgreSQL (installed and started if missing)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run install test test-sqlite test-postgres bench lint translations clean

run: install
	$(BIN)/tracker db upgrade
	$(BIN)/tracker demo
	$(BIN)/tracker serve --host 127.0.0.1 --port 5000

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: test-sqlite test-postgres

test-sqlite: install
	@echo "== tests on SQLite =="
	$(BIN)/python -m pytest

# Set TRACKER_TEST_SKIP_POSTGRES=1 to skip on purpose; otherwise a missing server fails.
test-postgres: install
	@if [ "$$TRACKER_TEST_SKIP_POSTGRES" = 1 ]; then \
	  echo "== tests on PostgreSQL SKIPPED (TRACKER_TEST_SKIP_POSTGRES=1) =="; \
	else \
	  url=$$(scripts/postgres-for-tests.sh) || { echo "no PostgreSQL for the tests" >&2; exit 1; }; \
	  echo "== tests on PostgreSQL =="; \
	  TRACKER_TEST_DATABASE_URL=$$url $(BIN)/python -m pytest; \
	fi

bench: install
	$(BIN)/python bench/issue_bench.py

# After changing a visible string: extract, merge into the Chinese catalogue, translate the
# new entries in web/translations/zh/LC_MESSAGES/messages.po, then run this again to compile.
translations: install
	$(BIN)/pybabel extract -F web/babel.cfg -k _l -k lazy_gettext --no-location \
	  -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations -l zh --width 100
	$(BIN)/pybabel compile -d web/translations

lint: install
	$(BIN)/python -m ruff check tracker web tests bench
	$(BIN)/python -m mypy tracker web

clean:
	rm -rf $(VENV) instance *.egg-info
