#!/usr/bin/env bash
# Lint gates (see README "Quality gates"). Fails on any finding of the mandatory checks.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python

"$PY" -m ruff check .
"$PY" -m ruff format --check .
