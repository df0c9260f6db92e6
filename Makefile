# Escalation Portal. `make run` serves the portal; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
ASSETS := portal/static/govuk/app.min.css

.PHONY: help run install assets init system-deps test test-postgres lint bench bench-scale bench-load faults clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

run: install assets init ## Set up everything and serve on http://127.0.0.1:5000 with the mail worker
	bash scripts/run-dev.sh

install: $(VENV)/.installed ## Create the virtualenv and install pinned dependencies

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

assets: $(ASSETS) ## Build the GOV.UK Frontend assets (npm + Dart Sass, Arial, no crown)

$(ASSETS): frontend/package.json frontend/package-lock.json frontend/scss/app.scss frontend/build.mjs
	cd frontend && npm ci --no-audit --no-fund --ignore-scripts && npm run build

init: install ## Initialise instance/: migrate, keys, partnerships, demo users (idempotent)
	$(FLASK) init

system-deps: ## Check the Debian packages the tests need (chromium, poppler-utils, postgresql-client); as root, install them
	bash scripts/system-deps.sh

test: system-deps install assets ## Run the whole suite (SQLite; set PORTAL_TEST_DATABASE_URL for PostgreSQL)
	$(PY) -m pytest -n 2 --dist loadgroup -q

test-postgres: system-deps install assets ## Run the whole suite against PostgreSQL on 127.0.0.1:5432
	PORTAL_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_test $(PY) -m pytest -n 2 --dist loadgroup -q

lint: install ## ruff, the layer contracts (import-linter) and types (mypy)
	$(VENV)/bin/ruff check portal tests bench scripts
	$(VENV)/bin/ruff format --check portal tests bench scripts
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: install ## Measure the submit path beside a bare Flask request
	$(PY) bench/bench_submit.py

faults: install assets ## Play SMTP down, a killed mail worker and a PostgreSQL restart under load (ARGS=--quick)
	$(PY) scripts/faults.py $(ARGS)

SIZES ?= 1000,10000,100000
bench-scale: install ## Grow a scratch PostgreSQL database to SIZES notices and time every list page, search and export
	$(PY) bench/bench_scale.py --sizes $(SIZES)

SIZE ?= 100000
bench-load: install ## 64 connections for 60 s against gunicorn (4 workers, production) at SIZE notices on PostgreSQL
	$(PY) bench/bench_load.py --size $(SIZE)

clean: ## Remove the virtualenv and built assets (keeps instance/)
	rm -rf $(VENV) portal/static/govuk frontend/node_modules
