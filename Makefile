# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
UV_VERSION := 0.13.9
# uv from PATH, or a copy installed into the git-ignored .local/ by `make uv`.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.local/uv/bin/uv)
PYTEST_ARGS ?=

.PHONY: help setup uv web run test test-fast lint format specs fetch clean

help:
	@echo "make run    - set up, start Kafka, FerretDB, Mailpit, the four services and the gateway"
	@echo "make test   - set up, then run the whole suite against freshly started infrastructure"
	@echo "make lint   - ruff and mypy"
	@echo "make specs  - regenerate event JSON Schemas and AsyncAPI documents"

uv:
	@if [ ! -x "$(UV)" ]; then \
		echo "installing uv $(UV_VERSION) into .local/uv"; \
		python3 -m pip install --quiet --disable-pip-version-check --target .local/uv "uv==$(UV_VERSION)"; \
	fi

setup: uv
	@"$(UV)" sync --frozen --all-packages

# The browser libraries of the web apps (jsQR for the operator console's QR scanner), pinned by
# web/package-lock.json and copied into the git-ignored web/console/vendor/.
web:
	@cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

fetch: setup web
	@"$(UV)" run --frozen etnik-dev fetch
	@bash deploy/helm/install-tools.sh

run: fetch
	@"$(UV)" run --frozen etnik-dev run

lint: setup
	"$(UV)" run --frozen ruff check .
	"$(UV)" run --frozen ruff format --check .
	"$(UV)" run --frozen mypy

format: setup
	"$(UV)" run --frozen ruff format .
	"$(UV)" run --frozen ruff check --fix .

specs: setup
	"$(UV)" run --frozen python scripts/generate_specs.py

test: fetch lint
	"$(UV)" run --frozen pytest $(PYTEST_ARGS)

# Unit tests only: no infrastructure is started.
test-fast: setup
	"$(UV)" run --frozen pytest -m "not infra" $(PYTEST_ARGS)

clean:
	rm -rf .local/run .pytest_cache .mypy_cache .ruff_cache
