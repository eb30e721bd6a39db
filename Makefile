# liveshop: `make run` starts the whole system, `make test` runs the whole suite.
# Both create the virtualenv and install pinned dependencies on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench migrate demo demo-stream clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt | $(BIN)/activate
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

migrate: $(VENV)/.installed-runtime
	$(PY) manage.py migrate --no-input

demo: migrate
	$(PY) manage.py demo_seed

run: demo
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py liveshop_run --host $(HOST) --port $(PORT)

# Pushes an ffmpeg test pattern to the live demo show of a running `make run`.
demo-stream: $(VENV)/.installed-runtime
	$(PY) manage.py video_demo_stream

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(PY) tools/mypy_ratchet.py
	$(PY) manage.py makemigrations --check --dry-run --settings=liveshop.settings.test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(PY) tools/mypy_ratchet.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Fan-out benchmark (docs/benchmarks.md): needs PostgreSQL and Redis, by default on
# 127.0.0.1 (database liveshop_bench, Redis database 9; BENCH_DATABASE_URL, BENCH_REDIS_URL).
# BENCH_ARGS picks scenarios and options, e.g. BENCH_ARGS="smoke" or "fanout-3000 --docs".
BENCH_ARGS ?= --docs
bench: $(VENV)/.installed-dev
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache .import_linter_cache .mypy_cache
