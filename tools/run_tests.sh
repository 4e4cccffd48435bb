#!/usr/bin/env bash
# Set up the environment if needed, then run the test suite (extra args go to pytest).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh" full
cd "$ROOT"
exec "${DSSL_VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
