# The project's commands. The README's two commands are `make up` and `make test`.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
CHROMIUM ?= /usr/bin/chromium

.PHONY: help uv setup protos browser wrk up down status test lint typecheck routes bench tour

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

uv: ## Install uv (the package manager) when it is missing
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

setup: uv ## Install every package from the lockfile and generate the gRPC stubs
	$(UV) sync --locked --all-packages
	$(UV) run scripts/gen-protos

protos: ## Regenerate the gRPC stubs from proto/
	$(UV) run scripts/gen-protos

browser: ## Install headless Chromium (Debian's package) for the trace waterfall's browser test
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "$(CHROMIUM) is missing and apt-get is not available: the browser test will be skipped"; \
		exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "chromium is missing and installing it needs root or sudo: the browser test will be skipped"; \
		exit 0; \
	fi; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

wrk: ## Install wrk (Debian's package), the load generator of `make bench` and of bench/wrk/chat.lua
	@if command -v wrk >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "wrk is missing and apt-get is not available: make bench uses its Python load client"; \
		exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "wrk is missing and installing it needs root or sudo: make bench uses its Python load client"; \
		exit 0; \
	fi; \
	($$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk) || \
		echo "could not install wrk: make bench uses its Python load client"

up: setup ## Set up and start the whole stack locally (SQLite, nginx, trace store), print the URLs
	$(UV) run devstack up

down: ## Stop everything `make up` started
	$(UV) run devstack down

tour: up ## Walk one route through every phase on the local stack (PACE=1: wait for Enter)
	$(UV) run devstack tour $(if $(PACE),--pace)

status: ## Show which processes of the stack are running
	$(UV) run devstack status

# The gates run before the tests, so a lint or type error fails `make test` (and CI) like a test.
test: setup browser wrk lint typecheck ## Set up, lint, type-check, then run every test
	$(UV) run pytest

lint: ## ruff: lint and format check (part of make test)
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: ## mypy over every member's code and tests, as configured in pyproject.toml (part of make test)
	$(UV) run mypy

bench: setup wrk ## Run every benchmark side by side; report in var/bench/ (BENCH_ARGS="--quick")
	$(UV) run python -m strangler_bench $(BENCH_ARGS)

routes: ## Show the route table
	$(UV) run strangler routes
