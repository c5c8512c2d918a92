# One command to run the shop, one to test it, from a fresh clone with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run test lint format migrate demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Front-end libraries from the npm registry, pinned and checked (app/web/vendor.py).
VENDORED := app/static/vendor/hls.light.min.js
$(VENDORED): app/web/vendor.py | $(VENV)/.installed
	$(BIN)/python -m app.web.vendor
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed $(VENDORED)
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask shop demo

# The media worker runs beside the server, and stops with it.
run: demo
	@echo "商店地址: http://$(HOST):$(PORT)/"
	$(BIN)/flask shop media-worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (.ci/run sets it).
test: lint $(VENDORED)
	$(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL =="; \
		SHOP_TEST_DB=postgresql $(BIN)/pytest -m "not e2e"; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not"; exit 1; \
	else \
		echo "PostgreSQL suite SKIPPED: set TEST_DATABASE_URL to run it (.ci/run does)"; \
	fi

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/storefront.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
