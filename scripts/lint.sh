#!/usr/bin/env bash
# Lint gates (README "Quality gates"); scripts/test.sh runs them first, so CI enforces them.
#   1. ruff: lint and format check of all Python (ruff.toml);
#   2. pylint + pylint-odoo with OCA's mandatory checks, once for each series in ODOO_SERIES
#      (default "18.0 19.0", the series the addon claims), each with OCA's configuration for that
#      series (.pylintrc-mandatory-18.0, .pylintrc-mandatory-19.0): a single message fails;
#   3. pylint with OCA's optional checks as well (.pylintrc): reported, never failing;
#   4. oca-checks-odoo-module (manifest, XML/CSV ids and duplicates, view syntax) and
#      oca-checks-po (translation files), as OCA's pre-commit runs them: any finding fails.
# Every gate runs even when an earlier one failed, so one run lists all the findings.
#
# Usage: scripts/lint.sh [--addon DIR]...
#   --addon DIR (repeatable; or LINT_ADDONS="DIR1 DIR2") lints only those addon folders, with
#   the repository's configuration, e.g. a copy of the addon elsewhere (tests/test_lint_gates.py).
#   Without it: ruff over the whole repository and the other gates over every folder at the top
#   of the repository that holds a __manifest__.py.
#   LINT_OPTIONAL=0 skips the report-only step 3. ODOO_SERIES="18.0" checks one series only.
set -uo pipefail

absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

addons=()
for addon in ${LINT_ADDONS:-}; do addons+=("$(absolute "$addon")"); done
while [ $# -gt 0 ]; do
    case "$1" in
        --addon) addons+=("$(absolute "${2:?--addon needs a folder}")"); shift 2 ;;
        --addon=*) addons+=("$(absolute "${1#--addon=}")"); shift ;;
        *) echo "lint.sh: unknown argument $1 (usage: scripts/lint.sh [--addon DIR]...)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=$VENV/bin/python

if [ ${#addons[@]} -gt 0 ]; then
    ruff_targets=("${addons[@]}")
else
    ruff_targets=(.)
    for manifest in */__manifest__.py; do
        [ -f "$manifest" ] && addons+=("$(dirname "$manifest")")
    done
fi
for addon in "${addons[@]}"; do
    if [ ! -f "$addon/__manifest__.py" ]; then
        echo "lint.sh: $addon is not an Odoo addon (no __manifest__.py)" >&2
        exit 2
    fi
done

for tool in ruff pylint oca-checks-odoo-module oca-checks-po; do
    if [ ! -x "$VENV/bin/$tool" ]; then
        echo "lint.sh: $VENV/bin/$tool is missing; run 'make venv' (installs the lint extra)" >&2
        exit 2
    fi
done

ODOO_SERIES=${ODOO_SERIES:-18.0 19.0}
for series in $ODOO_SERIES; do
    if [ ! -f ".pylintrc-mandatory-$series" ]; then
        echo "lint.sh: no OCA configuration for Odoo $series (.pylintrc-mandatory-$series)" >&2
        exit 2
    fi
done

# Colours for people, plain text for CI logs and for the tests that read the output.
pylint_format=text
[ -t 1 ] && pylint_format=colorized

failed=()
gate() {
    local name=$1
    shift
    echo "== lint: $name"
    "$@" || failed+=("$name")
}

# An explicit --config keeps the repository's settings for folders outside it; its
# directory-scoped per-file-ignores then only apply inside the repository.
gate "ruff check" "$PY" -m ruff check --config ruff.toml "${ruff_targets[@]}"
gate "ruff format" "$PY" -m ruff format --check --config ruff.toml "${ruff_targets[@]}"

if [ ${#addons[@]} -eq 0 ]; then
    echo "== lint: no Odoo addon found, pylint-odoo and OCA checks skipped"
else
    for series in $ODOO_SERIES; do
        gate "pylint-odoo $series (mandatory)" "$PY" -m pylint \
            --rcfile=".pylintrc-mandatory-$series" --output-format="$pylint_format" "${addons[@]}"
    done
    if [ "${LINT_OPTIONAL:-1}" != 0 ]; then
        echo "== lint: pylint-odoo (optional checks, report only)"
        "$PY" -m pylint --rcfile=.pylintrc --exit-zero --output-format="$pylint_format" \
            "${addons[@]}"
    fi
    gate "oca-checks-odoo-module" "$VENV/bin/oca-checks-odoo-module" "${addons[@]}"

    po_files=()
    for addon in "${addons[@]}"; do
        while IFS= read -r -d '' po; do po_files+=("$po"); done \
            < <(find "$addon" -path '*/i18n*' \( -name '*.po' -o -name '*.pot' \) -print0 | sort -z)
    done
    if [ ${#po_files[@]} -eq 0 ]; then
        echo "== lint: oca-checks-po: no translation files yet"
    else
        # OCA's own setting: Odoo's export decides the layout of .po files, not a linter.
        gate "oca-checks-po" "$VENV/bin/oca-checks-po" --disable=po-pretty-format "${po_files[@]}"
    fi
fi

if [ ${#failed[@]} -gt 0 ]; then
    printf '== lint FAILED: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
    exit 1
fi
echo "== lint passed"
