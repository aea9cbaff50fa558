# The README documents two commands: `make run` and `make test`. CI runs .ci/run.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
# Written after a complete install: re-installs whenever requirements-dev.lock changes.
# requirements.lock is production only (the image); requirements-dev.lock adds the dev tools.
INSTALLED := $(VENV)/.installed
UV_VERSION := 0.13.8

# Tests need PostgreSQL (the append-only triggers refuse the DELETEs of SQLite's flushes)
# and Redis; these defaults apply only when the variables are unset.
TEST_DATABASE_URL := postgres://postgres@127.0.0.1:5432/lpo_tracker
TEST_REDIS_URL := redis://127.0.0.1:6379/0
# pytest-xdist workers. Two = the cores of this machine class (what -n auto picks here too);
# fixed rather than auto because each worker takes one of Redis's 16 databases and its own
# test database. Override with `make test PYTEST_WORKERS=4`.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
# The project's own code (docs/architecture.md's layout); mypy ignores .gitignore, so not `mypy .`.
MYPY_TARGETS := manage.py lpo_tracker vendors matters supervision tests $(wildcard bench)

.PHONY: help venv run test lint check

help:
	@echo "make run    start web, Celery worker and beat with demo data (http://127.0.0.1:8000/)"
	@echo "make test   run the test suite (PostgreSQL + Redis; PYTEST_ARGS=... to pass options)"
	@echo "make lint   ruff and mypy"
	@echo "make check  missing migrations and Django's deployment checklist"

venv: $(INSTALLED)

$(INSTALLED): requirements-dev.lock
	@python=$$(command -v python3.11 || command -v python3 || true); \
	if [ -z "$$python" ]; then echo "Python 3.11 is required: install python3.11." >&2; exit 1; fi; \
	if ! "$$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
		echo "Python 3.11 is required; $$python is $$("$$python" --version 2>&1)." >&2; exit 1; \
	fi; \
	if [ ! -x $(PYTHON) ]; then "$$python" -m venv $(VENV); fi
	@if ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
		echo "$(VENV) is not Python 3.11: remove it and run make again." >&2; exit 1; \
	fi
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --python $(PYTHON) --require-hashes -r requirements-dev.lock
	@touch $@

run: $(INSTALLED)
	$(PYTHON) manage.py runstack

# Unset DATABASE_URL/REDIS_URL: the defaults above if they answer, else throwaway servers
# (temporary directory, stopped afterwards) where PostgreSQL/Redis are installed, else one
# line saying what to install (tests/throwaway_services.py).
test: $(INSTALLED)
	$(PYTHON) -m tests.throwaway_services \
		--database-default "$(TEST_DATABASE_URL)" --redis-default "$(TEST_REDIS_URL)" \
		-- $(PYTHON) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(INSTALLED)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/mypy $(MYPY_TARGETS) || status=1; \
	exit $$status

check: $(INSTALLED)
	$(PYTHON) manage.py makemigrations --check --dry-run
	LPO_ENV=production ALLOWED_HOSTS=lpo.example.com CLAMAV_ADDRESS=tcp://clamav:3310 \
	SECRET_KEY="$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" \
	AUDIT_HMAC_KEY="$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" \
	$(PYTHON) manage.py check --deploy --fail-level WARNING
