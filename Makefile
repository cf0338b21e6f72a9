# kommo_connector developer commands. `make test` is what CI runs (.ci/run).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: help venv test test-api test-odoo lint format run emulator screenshots bench bench-faults bench-webhooks clean

help:
	@echo "make run        Odoo (18, or ARGS=\"--series 19\") + demo database + the Kommo emulator"
	@echo "make test       everything CI runs: lint, kommo_api tests, the Odoo suite"
	@echo "make test-api   the Odoo-free tests only (kommo_api and the emulator)"
	@echo "make test-odoo  the Odoo suite on each Odoo series found (18, 19; skipped loudly if none)"
	@echo "make lint       ruff, pylint-odoo and the OCA module/.po checks"
	@echo "make emulator   the Kommo emulator alone, with its demo account, on port 8899"
	@echo "make screenshots  the addon's screenshots (static/description/), taken by its tours in Odoo 18"
	@echo "make check-kommo  check a real Kommo account: ARGS=\"--host acme.kommo.com --token-file F [--write]\""
	@echo "make bench      the first-sync push benchmark (bench/README.md; ARGS=... to resize)"
	@echo "make bench-faults  the first sync with 20% of Kommo's calls failing (ARGS=\"--workers 2\")"
	@echo "make bench-webhooks  webhook receiver under 50 concurrent clients vs Odoo's own route"

venv:
	@scripts/bootstrap.sh

test: venv
	@scripts/test.sh

test-api: venv
	$(PY) -m pytest -p no:odoo tests --cov=kommo_api --cov-report=term-missing:skip-covered --cov-fail-under=90

test-odoo: venv
	$(PY) scripts/odoo_suite.py

lint: venv
	@scripts/lint.sh

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

run: venv
	$(PY) scripts/run_demo.py $(ARGS)

emulator: venv
	$(PY) -m kommo_api.testing --port 8899 --seed demo

screenshots: venv
	$(PY) scripts/screenshots.py $(ARGS)

.PHONY: check-kommo
# Read-only unless ARGS has --write; the token from --token-file or KOMMO_TOKEN.
check-kommo: venv
	$(PY) -m kommo_api.check $(ARGS)

bench: venv
	$(PY) bench/push_first_sync.py --reuse $(ARGS)

bench-faults: venv
	$(PY) bench/push_first_sync.py --reuse --orders 2000 --customers 1600 --contacts 10000 --faults 0.2 $(ARGS)

bench-webhooks: venv
	$(PY) bench/webhook_load.py $(ARGS)

clean:
	rm -rf $(VENV) .run .pytest_cache .ruff_cache .hypothesis .coverage build *.egg-info
