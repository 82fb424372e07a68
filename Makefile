# Two commands do all set-up: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export BAUSTELLEN_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/baustellen
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench bench-full install db system-deps clean

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "ERROR: $(PYTHON) not found; install Python 3.11+" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Debian packages the tests need besides PostGIS (browser, GDAL). Installed when missing and we are root.
system-deps:
	@bash scripts/ensure-system-deps.sh

db:
	@bash scripts/ensure-postgis.sh

run: install db
	$(BIN)/baustellen db upgrade
	$(BIN)/baustellen demo load
	@echo "API on http://$(HOST):$(PORT) (docs: /docs, map: /map/); worker running alongside. Ctrl-C stops both."
	@trap 'kill 0' EXIT INT TERM; \
	  $(BIN)/baustellen worker & \
	  $(BIN)/baustellen serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check service tests benchmarks migrations

test: install system-deps
	@bash scripts/ensure-postgis.sh --no-create
	$(BIN)/ruff check service tests benchmarks migrations
	$(BIN)/pytest -q

bench: install db
	$(BIN)/python -m benchmarks.run

bench-full: install db
	$(BIN)/python -m benchmarks.run --full

clean:
	rm -rf $(VENV) .pytest_cache
