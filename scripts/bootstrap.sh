#!/usr/bin/env bash
# Create the project's virtual environment (.venv, Python 3.10-3.12) and install the project
# with its test and lint extras. Idempotent: reinstalls only when setup.py changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}

pick_python() {
    # Odoo 18 supports Python 3.10 to 3.12; 3.11 is the version its pins are best tested on.
    for candidate in ${PYTHON:-} python3.11 python3.12 python3.10 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))'
        then
            echo "$candidate"
            return 0
        fi
    done
    echo "No Python 3.10-3.12 found (set PYTHON=/path/to/python3.x)" >&2
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    python_bin=$(pick_python)
    echo "Creating $VENV with $python_bin"
    "$python_bin" -m venv "$VENV"
fi

stamp="$VENV/.installed-$(cat setup.py | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi
