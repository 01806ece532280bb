# labelvault — `make demo` starts the product with demo data on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= sqlite
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: demo serve install install-test test test-fast test-browser lint typecheck check-migrations bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Start labelvault on SQLite with a demo organization, admin and one project per question type.
demo: install
	$(BIN)/labelvault demo --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/labelvault serve --host $(HOST) --port $(PORT)

## Every test (DB=sqlite or DB=postgresql), slow ones included.
test: install-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --db $(DB) tests

## The inner loop (under two minutes): everything but the slow and the browser tests, on SQLite.
test-fast: install-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --db sqlite -m "not slow and not browser" tests

## The browser tests alone (Chromium through Playwright), on SQLite.
test-browser: install-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --db sqlite -m browser tests

lint: install-test
	$(BIN)/ruff check src tests bench

typecheck: install-test
	$(BIN)/mypy src

check-migrations: install
	$(BIN)/python -c "import tempfile, pathlib; from labelvault.db.migrate import upgrade, check; \
	u = 'sqlite:///' + str(pathlib.Path(tempfile.mkdtemp()) / 'check.db'); upgrade(u); check(u)"

bench: install-test
	$(BIN)/python bench/import.py --database $(DB)
	$(BIN)/python bench/export.py --database $(DB)
	$(BIN)/python bench/ui.py --database $(DB)

clean:
	rm -rf $(VENV) labelvault-data .pytest_cache
