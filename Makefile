# The two commands of the README: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
BIN := .venv/bin
STAMP := .venv/.installed

.PHONY: setup demo test test-fast lint benchmark db-up db-down clean

$(STAMP): pyproject.toml scripts/bootstrap-venv.sh
	scripts/bootstrap-venv.sh
	touch $(STAMP)

setup: $(STAMP)
	scripts/ensure-postgis.sh
	scripts/ensure-chromium.sh

db-up: setup
	$(BIN)/opvangmatch db up

# DEMO_SERVE=0 skips starting the API at the end (e.g. in scripts).
DEMO_SERVE ?= 1

demo: setup
	$(BIN)/opvangmatch db up
	$(BIN)/opvangmatch load demo
	$(BIN)/opvangmatch score --profile all --municipality GM0221 --top 5
	$(BIN)/opvangmatch task --province PV25
	$(BIN)/opvangmatch map overview --out out/overview.html
	$(BIN)/opvangmatch map region --province PV25 --municipality GM0221 --profile families --out out/doesburg.html
	@echo "maps written: out/overview.html out/doesburg.html (open them in a browser)"
	@if [ "$(DEMO_SERVE)" = "1" ]; then \
	  echo "an admin API key for this demo (shown once):"; \
	  $(BIN)/opvangmatch apikey create --role admin; \
	  echo "starting the scoring API on http://127.0.0.1:8000 (docs: /docs); Ctrl-C stops it"; \
	  $(BIN)/opvangmatch serve; \
	fi

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest

# The inner loop: everything but the browser, notebook and live-server tests, on two pytest-xdist workers, the demo
# database copied from a template kept on the server (see README).
FAST := not browser and not notebooks and not live
test-fast: setup
	$(BIN)/ruff check .
	OPVANGMATCH_TEST_DEMO_CACHE=1 $(BIN)/pytest -n 2 -m "$(FAST)"

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
