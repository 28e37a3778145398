# Keloa: `make run` starts everything on this machine; `make test` runs the whole test suite.
# Both create the virtualenv on first use and install requirements.txt and Keloa itself (editable,
# so that config, keloa_web and the rest import from anywhere); `make test` adds requirements-dev.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench migrate worker clean screenshots

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed
	$(PY) scripts/run.py

test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) -m bench.run_all $(BENCH_ARGS)

# The README's screenshots (docs/screens/), taken by the browser test of the main screens.
screenshots: $(VENV)/.installed-dev
	KELOA_SCREENS_DIR=docs/screens $(PY) -m pytest -q tests/e2e/test_screens.py

migrate: $(VENV)/.installed
	$(PY) -m alembic upgrade head

worker: $(VENV)/.installed
	$(PY) worker.py

clean:
	rm -rf $(VENV) .pytest_cache
