# The two commands of the README: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
BIN := .venv/bin
STAMP := .venv/.installed

.PHONY: setup demo test lint benchmark db-up db-down clean

$(STAMP): pyproject.toml scripts/bootstrap-venv.sh
	scripts/bootstrap-venv.sh
	touch $(STAMP)

setup: $(STAMP)
	scripts/ensure-postgis.sh
	scripts/ensure-chromium.sh

db-up: setup
	$(BIN)/opvangmatch db up

demo: setup
	$(BIN)/opvangmatch db up
	$(BIN)/opvangmatch load demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check geo api tests

benchmark: setup
	for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

db-down:
	$(BIN)/opvangmatch db down

clean:
	-$(BIN)/opvangmatch db down
	rm -rf .venv .pgdata out tests/output
