# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
UV_VERSION := 0.13.9
# uv from PATH, or a copy installed into the git-ignored .local/ by `make uv`.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.local/uv/bin/uv)
PYTEST_ARGS ?=

.PHONY: help setup uv web run test test-fast lint format specs fetch clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) \
		| sed -E 's/^([a-z-]+):.*## (.*)/\1\t\2/' \
		| awk -F '\t' '{ printf "make %-10s %s\n", $$1, $$2 }'

uv: ## install uv into .local/uv unless one is on PATH
	@if [ ! -x "$(UV)" ]; then \
		echo "installing uv $(UV_VERSION) into .local/uv"; \
		python3 -m pip install --quiet --disable-pip-version-check --target .local/uv "uv==$(UV_VERSION)"; \
	fi

setup: uv ## create the virtualenv with every workspace package (uv sync --frozen)
	@"$(UV)" sync --frozen --all-packages

# The browser libraries of the web apps (jsQR for the operator console's QR scanner), pinned by
# web/package-lock.json and copied into the git-ignored web/console/vendor/.
web: ## install the web apps' pinned browser libraries (npm ci)
	@cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

fetch: setup web ## fetch Kafka, FerretDB, Mailpit, nginx, Chromium, Prometheus, Helm tools
	@"$(UV)" run --frozen etnik-dev fetch
	@bash deploy/helm/install-tools.sh

run: fetch ## set up, start Kafka, FerretDB, Mailpit, the four services and the gateway
	@"$(UV)" run --frozen etnik-dev run

lint: setup ## ruff check, ruff format --check and mypy
	"$(UV)" run --frozen ruff check .
	"$(UV)" run --frozen ruff format --check .
	"$(UV)" run --frozen mypy

format: setup ## format and autofix the code with ruff
	"$(UV)" run --frozen ruff format .
	"$(UV)" run --frozen ruff check --fix .

specs: setup ## regenerate the event JSON Schemas and AsyncAPI documents
	"$(UV)" run --frozen python scripts/generate_specs.py

test: fetch lint ## set up, lint, then run the whole suite against freshly started infrastructure
	"$(UV)" run --frozen pytest $(PYTEST_ARGS)

# The unit layer (services/*/tests/unit): domain and use cases on fakes; nothing is started.
test-fast: setup ## the unit tests: domain and use cases on in-memory fakes, no infrastructure
	"$(UV)" run --frozen pytest services/*/tests/unit -m unit $(PYTEST_ARGS)

clean: ## remove run state and caches (.local/run, tool caches)
	rm -rf .local/run .pytest_cache .mypy_cache .ruff_cache
