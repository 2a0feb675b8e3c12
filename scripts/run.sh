#!/usr/bin/env bash
# Set everything up (idempotent), seed the sandbox bank once, and start the kiosk agent in the
# terminal simulator. Extra arguments go to `vtm sim` (for example: --lang en).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/vtm bank seed --if-empty
exec .venv/bin/vtm sim "$@"
