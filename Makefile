# The two commands of the README: `make demo` and `make test`. Both bring the machine up first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
LA_ENV := data/los_angeles/gridmap.env

.PHONY: setup setup-test demo demo-load test lint bench clean

setup:
	scripts/bootstrap.sh

setup-test:
	scripts/bootstrap.sh --browser

## make demo: load the Los Angeles sample, locate its 311 requests, serve the web app
demo: demo-load
	set -a; . $(LA_ENV); set +a; $(BIN)/gridmap serve

demo-load: setup
	set -a; . $(LA_ENV); set +a; $(BIN)/gridmap db upgrade && $(BIN)/gridmap demo

## make test: the whole suite against real PostGIS and Chromium; fails if anything is skipped
test: setup-test
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/locate.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
