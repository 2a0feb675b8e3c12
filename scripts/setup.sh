#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine (2 cores, no GPU; PyPI, Debian and npm reachable).
#   1. Debian packages the product needs (espeak-ng for speech, a CJK font for PDFs, chromium for
#      the review app's browser tests, PostgreSQL for the database tests, gcin-voice's recorded
#      Mandarin syllables for the speech benchmarks' human voice), installed only if missing;
#   2. a virtual environment in .venv with the project and its pinned dependencies
#      (requirements/constraints.txt; torch==2.13.0 is the CPU build that lies on disk);
#   3. the one-time preparation of models, cached under the data directory.
# Re-running it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(espeak-ng libsndfile1 fonts-wqy-zenhei chromium postgresql sox gcin-voice)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi

# Reinstall only when the declared dependencies change.
stamp=.venv/.vtm-deps
want=$(cat pyproject.toml requirements/constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages (first run takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c requirements/constraints.txt -e '.[dev]'
  echo "$want" > "$stamp"
fi

.venv/bin/vtm models prepare
