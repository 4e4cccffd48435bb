#!/usr/bin/env bash
# Download the pure-Python wheels a GPU image needs for pretraining
# (requirements/gpu-image-wheels.txt) into DIR, for a machine without a package index.
#
#   bash tools/fetch_wheels.sh DIR [PYTHON_VERSION]      # e.g. DIR=wheels 3.12 (default 3.12)
#
# Only wheels are taken (--only-binary :all:), none of them compiled for a platform (each is
# py3-none-any), so they install on any Python >= 3.10 and any OS. On the image:
#   python -m pip install --no-index --no-deps --find-links DIR -r requirements/gpu-image-wheels.txt
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:?usage: bash tools/fetch_wheels.sh DIR [PYTHON_VERSION]}
PYVER=${2:-3.12}
# pip evaluates the list's environment markers (tomli for 3.10) with the Python that runs it:
# run it with that version's interpreter.
PY=${PYTHON:-python$PYVER}
"$PY" -c 'import pip' 2>/dev/null || { echo "fetch_wheels: $PY (with pip) not found: set PYTHON=/path/to/python$PYVER" >&2; exit 1; }
mkdir -p "$DIR"
"$PY" -m pip --disable-pip-version-check download -q --no-deps --only-binary :all: \
  --python-version "$PYVER" --implementation py --abi none --platform any \
  -d "$DIR" -r "$ROOT/requirements/gpu-image-wheels.txt"
"$PY" - "$DIR" "$ROOT/requirements/gpu-image-wheels.txt" <<'PY'
import os, sys
folder, listing = sys.argv[1:]
from pip._vendor.packaging.requirements import Requirement
reqs = [Requirement(l.split('#')[0]) for l in open(listing) if l.split('#')[0].strip()]
wanted = [r.name for r in reqs if r.marker is None or r.marker.evaluate()]  # this Python
wheels = sorted(f for f in os.listdir(folder) if f.endswith('.whl'))
missing = [w for w in wanted
           if not any(f.lower().startswith(w.replace('-', '_').lower() + '-')
                      for f in wheels)]
if missing:
    sys.exit(f'fetch_wheels: no wheel in {folder} for {missing}')
bad = [f for f in wheels if not f.endswith('-none-any.whl')]
if bad:
    sys.exit(f'fetch_wheels: platform-specific wheels in {folder}: {bad}')
size = sum(os.path.getsize(os.path.join(folder, f)) for f in wheels)
print(f'{len(wheels)} pure-Python wheels, {size / 2**20:.2f} MiB in {folder}:')
for f in wheels:
    print(f'  {f}  {os.path.getsize(os.path.join(folder, f)) / 2**10:.0f} KiB')
PY
