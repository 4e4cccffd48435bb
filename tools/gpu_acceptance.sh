#!/usr/bin/env bash
# The GPU acceptance run on any GPU machine: with this project's .venv if there is one (a
# carried or set-up environment), else with the machine's own python3 and torch plus the
# pure-Python wheels of requirements/gpu-image-wheels.txt, installed from ./wheels (made
# beforehand where there is an index: bash tools/fetch_wheels.sh wheels 3.12). No compiling.
#   bash tools/gpu_acceptance.sh [--budget 480] [--official DIR] [--out DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
[ -x "$ROOT/.venv/bin/python" ] && "$ROOT/.venv/bin/python" -c 'import torch' 2>/dev/null \
  && PY=$ROOT/.venv/bin/python
if ! "$PY" -c 'import mmengine, mmcv.transforms' 2>/dev/null; then
  WHEELS=${DSSL_WHEELS:-$ROOT/wheels}
  [ -d "$WHEELS" ] || { echo "gpu_acceptance: mmengine/mmcv missing and no $WHEELS folder: run 'bash tools/fetch_wheels.sh wheels 3.12' where there is an index and carry it" >&2; exit 1; }
  "$PY" -m pip install -q --no-index --no-deps --find-links "$WHEELS" \
    -r "$ROOT/requirements/gpu-image-wheels.txt"
fi
cd "$ROOT"
PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} exec "$PY" tools/gpu_acceptance.py "$@"
