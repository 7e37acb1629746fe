#!/usr/bin/env bash
# The whole test suite (what CI runs): install if needed, lint, then pytest on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
VENV=${STREID_VENV:-.venv}
"$VENV/bin/ruff" check .
exec "$VENV/bin/python" -m pytest "$@"
