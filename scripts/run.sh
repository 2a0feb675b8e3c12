#!/usr/bin/env bash
# Set everything up (idempotent), seed the sandbox bank once, show it, and start the kiosk agent in
# the terminal simulator. Extra arguments go to `vtm sim` (for example: --lang en).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/vtm bank seed --if-empty
.venv/bin/vtm bank show
echo "Demo cards and PINs: docs/demo-cards.md. In the simulator type what the customer says;"
echo "device commands start with '/', e.g. /insert_card 6230887983054949930 then /pin 955756."
exec .venv/bin/vtm sim "$@"
