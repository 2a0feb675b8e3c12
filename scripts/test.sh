#!/usr/bin/env bash
# Set everything up (idempotent), start a local PostgreSQL for the database tests, then run the
# linter, the type checker, the import-layer contracts (lint-imports, pyproject.toml) and the tests
# (unit, integration, property, end-to-end: real models, real browser, real databases, the
# conversation tests). Every step runs even if an earlier one failed, so one run shows every
# problem; the exit status is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
source scripts/postgres.sh   # exports VTM_TEST_POSTGRES_URL when a server could be started
# Tests share the models prepared by setup (tests/conftest.py does the same for direct pytest runs).
VTM_MODELS_DIR="${VTM_MODELS_DIR:-$(.venv/bin/python -c 'from vtm.config import load_settings; print(load_settings().models_path)')}"
export VTM_MODELS_DIR

status=0
step() { echo "== $*"; "$@" || { echo "!! failed: $*"; status=1; }; }
step .venv/bin/ruff check vtm tests bench
step .venv/bin/mypy
step .venv/bin/lint-imports
step .venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@"
exit $status
