#!/usr/bin/env bash
# Set up (or check) the project's virtual environment. Idempotent: a second run with nothing
# changed only verifies the stack (seconds).
#
#   .venv/ with torch 2.14.1 + torchvision 0.29.1, mmcv 2.1.0 with compiled ops,
#   mmengine 0.10.7, mmdet 3.3.0, mmsegmentation 1.2.2, pycocotools, pytest, and
#   dense_ssl_mm installed editable. Versions are pinned in requirements/*.txt.
#
# mmcv 2.1.0 has no wheel on PyPI. It is built once from the PyPI sdist (setup.py switched
# to -std=c++20, which torch 2.14's headers need) into a wheel cache and reused from there:
#   $DSSL_WHEEL_CACHE (default ~/.cache/dense_ssl_mm/wheels/<cpu|cuda>)
# A ready wheel in any folder of $PIP_FIND_LINKS (space separated) is used instead of building.
# With nvcc on PATH (or FORCE_CUDA=1) the CUDA ops are built too, into a separate cache, and
# CPU-only wheels are not used. The first CPU build takes about 25 minutes on 2 cores.
#
# MMCV_OPS=cpu installs the CPU-ops wheel even where a GPU is present: enough for pretraining
# (which uses no mmcv op), minutes instead of a CUDA build; mmdet/mmseg fine-tuning on the GPU
# needs the CUDA ops (the default there).
#
# Variables: PYTHON (default python3.11), DSSL_VENV (default <repo>/.venv), MAX_JOBS, MMCV_OPS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3.11}
VENV=${DSSL_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)
STAMP=$VENV/.dense_ssl_mm-setup

log() { echo "[setup_env] $*"; }

fingerprint() {
  cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/tools/setup_env.sh" | sha256sum | cut -d' ' -f1
  echo "${FORCE_CUDA:-0} ${MMCV_OPS:-auto}"
}

stack_ok() {
  "$PY" - "${MMCV_OPS:-auto}" <<'PY' >/dev/null 2>&1
import sys
import mmcv, mmcv.ops, mmdet, mmengine, mmseg, torch, torchvision, dense_ssl_mm
assert mmcv.__version__ == '2.1.0'
if torch.cuda.is_available() and sys.argv[1] != 'cpu':  # a GPU appeared: CUDA ops wanted
    assert mmcv.ops.get_compiling_cuda_version() != 'not available'
PY
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] && stack_ok; then
  log "environment $VENV is up to date"
  exit 0
fi

if ! "$PY" -m pip --version >/dev/null 2>&1; then  # missing, or broken by an interrupted run
  command -v "$PYTHON" >/dev/null || { echo "[setup_env] $PYTHON not found: set PYTHON=/path/to/python3.11" >&2; exit 1; }
  log "creating $VENV with $PYTHON"
  "$PYTHON" -m venv --clear "$VENV"
fi

log "installing torch and build tools (requirements/build.txt)"
"${PIP[@]}" install -q -r "$ROOT/requirements/build.txt"

# mmcv's own rule: CUDA ops where torch sees a GPU, or with FORCE_CUDA=1 (a build machine
# with nvcc but no GPU).
if [ "${MMCV_OPS:-auto}" = cpu ]; then
  FLAVOUR=cpu
elif [ "${FORCE_CUDA:-0}" = 1 ] || "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  FLAVOUR=cuda
else
  FLAVOUR=cpu
fi
CACHE=${DSSL_WHEEL_CACHE:-$HOME/.cache/dense_ssl_mm/wheels/$FLAVOUR}

mmcv_ok() {
  "$PY" - "$FLAVOUR" <<'PY' >/dev/null 2>&1
import sys
import mmcv
from mmcv.ops import nms  # noqa: F401  (compiled ops present)
assert mmcv.__version__ == '2.1.0'
if sys.argv[1] == 'cuda':
    from mmcv.ops import get_compiling_cuda_version
    assert get_compiling_cuda_version() != 'not available', 'mmcv built without CUDA ops'
PY
}

# mmcv imports mmengine (and its dependencies): install them before checking mmcv.
"${PIP[@]}" install -q -r "$ROOT/requirements/runtime.txt" "$(grep '^mmengine' "$ROOT/requirements/mminstall.txt")"

if ! mmcv_ok; then
  mkdir -p "$CACHE"
  links=(--find-links "$CACHE")
  if [ "$FLAVOUR" = cpu ]; then
    for d in ${PIP_FIND_LINKS:-}; do links+=(--find-links "$d"); done
  fi
  if "${PIP[@]}" install -q --no-index --no-deps "${links[@]}" mmcv==2.1.0 2>/dev/null && mmcv_ok; then
    log "mmcv 2.1.0 installed from a ready wheel"
  else
    log "building mmcv 2.1.0 ($FLAVOUR ops) into $CACHE: about 25 minutes on 2 cores, once"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation -d "$work" mmcv==2.1.0
    tar -xzf "$work"/mmcv-2.1.0.tar.gz -C "$work"
    sed -i 's/-std=c++14/-std=c++20/g; s/-std=c++17/-std=c++20/g' "$work/mmcv-2.1.0/setup.py"
    if ! (cd "$work/mmcv-2.1.0" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
          FORCE_CUDA=$([ "$FLAVOUR" = cuda ] && echo 1 || echo 0) \
          "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$work/dist" . \
          >"$work/build.log" 2>&1); then
      tail -n 40 "$work/build.log" >&2
      echo "[setup_env] the mmcv build failed; the end of its log is above" >&2
      exit 1
    fi
    if command -v strip >/dev/null; then
      "$PY" -m wheel unpack --dest "$work/unpacked" "$work"/dist/mmcv-*.whl >/dev/null
      find "$work/unpacked" -name '_ext*.so' -exec strip --strip-debug {} +
      "$PY" -m wheel pack --dest-dir "$CACHE" "$work"/unpacked/mmcv-2.1.0 >/dev/null
    else
      cp "$work"/dist/mmcv-*.whl "$CACHE"/
    fi
    "${PIP[@]}" install -q --no-index --no-deps --force-reinstall --find-links "$CACHE" mmcv==2.1.0
    mmcv_ok || { echo "[setup_env] mmcv was built but its ops do not import" >&2; exit 1; }
  fi
fi

log "installing the OpenMMLab stack and test tools"
"${PIP[@]}" install -q -r "$ROOT/requirements/mminstall.txt" -r "$ROOT/requirements/runtime.txt" \
  -r "$ROOT/requirements/tests.txt" --find-links "$CACHE"
log "installing dense_ssl_mm (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

stack_ok || { echo "[setup_env] the stack does not import; see the messages above" >&2; exit 1; }
fingerprint > "$STAMP"
log "done: activate with 'source $VENV/bin/activate'"
