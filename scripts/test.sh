#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, the Odoo-free tests with coverage, the Odoo suite,
# then README's run command (make run) started and checked as a user would.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python

echo "== lint"
scripts/lint.sh

echo "== kommo_api and emulator tests (no Odoo)"
# -p no:odoo: pytest-odoo (installed for the Odoo suite) imports odoo when it loads.
"$PY" -m pytest -p no:odoo tests --cov=kommo_api --cov-report=term-missing:skip-covered --cov-fail-under=90

echo "== Odoo suite (each series found: 18.0, 19.0)"
"$PY" scripts/odoo_suite.py

echo "== make run, started and checked (run smoke)"
"$PY" scripts/run_smoke.py
