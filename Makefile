# The two commands of the README: `make demo` and `make test`. Both bring the machine up first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
CITY ?= los_angeles
CITY_ENV := data/$(CITY)/gridmap.env

.PHONY: setup setup-test demo demo-load test lint bench clean

setup:
	scripts/bootstrap.sh

setup-test:
	scripts/bootstrap.sh --browser

## make demo [CITY=los_angeles|nanjing]: load a sample city, locate its points, serve the map
demo: demo-load
	@echo "the other sample city: make demo CITY=$(if $(filter nanjing,$(CITY)),los_angeles,nanjing)"
	set -a; . $(CITY_ENV); set +a; $(BIN)/gridmap serve

demo-load: setup
	@test -f $(CITY_ENV) || { echo "no sample city '$(CITY)': use CITY=los_angeles or CITY=nanjing"; exit 1; }
	set -a; . $(CITY_ENV); set +a; $(BIN)/gridmap db upgrade && $(BIN)/gridmap demo $(CITY)

## make test: the whole suite against real PostGIS and Chromium; fails if anything is skipped
test: setup-test
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/locate.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
