# The two commands of the README: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint format venv migrate bench screenshots webhook-examples

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py ensure_admin
	@echo "Serving on http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "First charts: http://127.0.0.1:8000/delivery/ and http://127.0.0.1:8000/cdn/ (log in with the admin login above)"
	$(BIN)/python manage.py runserver --insecure 127.0.0.1:8000

# Production-like on one machine: gunicorn, a Celery worker and beat under supervisord (deploy/supervisord.conf),
# against DATABASE_URL and CELERY_BROKER_URL (both required). Ctrl-C, or SIGTERM to make or to its process group,
# stops all three once: web finishes its requests, the worker its running tasks. The recipe execs supervisord, so
# make's own SIGTERM reaches it (make then ends by that signal, as GNU make always does). TZ: supervisord's lines
# in the app's zone, as Django's plain lines are; `--user root` only as root, where supervisord would otherwise
# warn about it. On a server, use the systemd units in deploy/ instead.
serve: migrate
	@test -n "$$CELERY_BROKER_URL" || { echo "serve needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)"; exit 2; }
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	export BIND="$${BIND:-127.0.0.1:8000}" WEB_CONCURRENCY="$${WEB_CONCURRENCY:-3}" TMPDIR="$${TMPDIR:-/tmp}" \
	  INSIGHTS_WORKER_STOP_SECONDS="$$(( $${CELERY_TASK_TIME_LIMIT:-360} + 30 ))" \
	  TZ="$${INSIGHTS_TIME_ZONE:-Asia/Shanghai}" \
	  PROMETHEUS_MULTIPROC_DIR="$${PROMETHEUS_MULTIPROC_DIR:-$${TMPDIR:-/tmp}/insights-metrics}"; \
	rm -rf "$$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$$PROMETHEUS_MULTIPROC_DIR"; \
	exec $(BIN)/supervisord --configuration deploy/supervisord.conf $$(test "$$(id -u)" != 0 || echo --user root)

# GitHub's example webhook payloads (@octokit/webhooks-examples, pinned, integrity-checked) into .cache/:
# tests/sources read them, and skip without them unless INSIGHTS_REQUIRE_WEBHOOK_EXAMPLES=1 (CI).
webhook-examples: $(STAMP)
	$(BIN)/python tests/sources/fetch_webhook_examples.py

test: $(STAMP)
	-$(BIN)/python tests/sources/fetch_webhook_examples.py
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks against PostgreSQL and, for the sustained-ingest scenario, a Celery worker on Redis (bench/run.py;
# BENCH_BROKER_URL, default redis://127.0.0.1:6379/13): scaled down by default, `make bench FULL=1` for full sizes.
# Not part of CI. The database is emptied: it must be a dedicated one (name containing "bench").
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/insights_bench
bench: $(STAMP)
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" $(BIN)/python bench/run.py $(if $(FULL),--full) $(BENCH_ARGS)

# Retake docs/delivery.png and docs/cdn.png from a running `make run` (Debian's /usr/bin/chromium).
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py $(or $(URL),http://127.0.0.1:8000)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
