# Keloa: `make run` starts everything on this machine; `make test` runs the whole test suite.
# Both create the virtualenv and install requirements.txt on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench migrate worker clean screenshots

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

run: $(VENV)/.installed
	$(PY) scripts/run.py

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) bench/run_all.py $(BENCH_ARGS)

# The README's screenshots (docs/screens/), taken by the browser test of the main screens.
screenshots: $(VENV)/.installed
	KELOA_SCREENS_DIR=docs/screens $(PY) -m pytest -q tests/e2e/test_screens.py

migrate: $(VENV)/.installed
	$(PY) -m alembic upgrade head

worker: $(VENV)/.installed
	$(PY) worker.py

clean:
	rm -rf $(VENV) .pytest_cache
