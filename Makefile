# Gatehouse developer commands (GNU make).
#
#   make run     set up, then serve http://127.0.0.1:8000 (PORT=...) with a Celery worker and beat
#   make serve   production's web server alone: gunicorn, DEBUG=0, after collectstatic and migrate
#                (needs SECRET_KEY, ALLOWED_HOSTS, GATEHOUSE_AUDIT_KEY, GATEHOUSE_FINGERPRINT_KEY,
#                GATEHOUSE_EVIDENCE_KEY, GATEHOUSE_WEBHOOK_KEY;
#                WEB_CONCURRENCY, PORT or BIND; Celery workers and beat run apart: see README)
#   make test    lint, format check and the test suite (PYTEST_ARGS="-k signoff -x" to narrow)
#   make setup   virtualenv, migrations and the demo data
#   make lint    ruff check + ruff format --check
#   make format  ruff format + ruff check --fix
#   make clean   delete the local database, broker files, demo repositories and caches
#
# With nothing set, everything lives under var/ (SQLite, Celery's file-system broker);
# DATABASE_URL, REDIS_URL and GATEHOUSE_VAR_DIR pass through from the environment.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := $(or $(GATEHOUSE_VENV),.venv)
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VAR := $(or $(GATEHOUSE_VAR_DIR),var)
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help run serve test setup lint format clean venv bytecode

#: Our own packages, compiled ahead: with PYTHONDONTWRITEBYTECODE set (as on CI machines)
#: every process would otherwise compile them from source at start, a tenth of a second
#: of every manage.py command. Stale files are simply recompiled in memory.
APPS := config core governance scans reviews releases vcs notifications integrations community

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt changes.
$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

venv: $(STAMP) bytecode

bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 $(APPS) manage.py > /dev/null

setup: $(STAMP) bytecode
	mkdir -p $(VAR)/celery/queue $(VAR)/celery/processed $(VAR)/celery/control \
		$(VAR)/demo-repos $(VAR)/run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_demo_releases
	$(BIN)/python manage.py seed_demo_sync
	$(BIN)/python manage.py seed_demo_hooks
	$(BIN)/python manage.py seed_demo_votes
	$(BIN)/python manage.py seed_demo_community
	$(BIN)/python manage.py seed_demo_notifications

run: setup
	scripts/run.sh

serve: $(STAMP) bytecode
	scripts/serve.sh

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Only what Gatehouse itself writes under the var folder (it may be GATEHOUSE_VAR_DIR),
# plus caches; the virtualenv stays (rm -rf .venv to rebuild it).
clean:
	rm -rf $(VAR)/gatehouse.sqlite3 $(VAR)/gatehouse.sqlite3-wal $(VAR)/gatehouse.sqlite3-shm \
		$(VAR)/celery $(VAR)/demo-repos $(VAR)/run $(VAR)/staticfiles $(VAR)/mail \
		$(VAR)/audit $(VAR)/cache $(VAR)/mirrors $(VAR)/sync
	rmdir $(VAR) 2>/dev/null || true
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache
