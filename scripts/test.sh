#!/usr/bin/env bash
# Set everything up (idempotent), start a local PostgreSQL for the database tests, run the linters,
# the type checker, the unit/integration/end-to-end tests and the conversation tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/postgres.sh   # exports VTM_TEST_POSTGRES_URL when a server could be started
.venv/bin/ruff check vtm tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -n 2 "$@"
