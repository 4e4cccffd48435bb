#!/usr/bin/env bash
# Set up (or check) the project's virtual environment. Idempotent: a second run with nothing
# changed only verifies the stack (seconds).
#
#   bash tools/setup_env.sh [pretrain|full]        (default: full, or $DSSL_PROFILE)
#
# pretrain: torch 2.14.1 + torchvision 0.29.1, mmengine 0.10.7, mmcv-lite 2.1.0 (mmcv without
#   compiled ops) and dense_ssl_mm editable: pretraining, dense evaluation, export. Wheels only
#   (--only-binary :all:), no compiler, about 2 minutes on a fresh machine.
# full: adds mmcv 2.1.0 with compiled ops, mmdet 3.3.0, mmsegmentation 1.2.2, pycocotools,
#   the test tools and the docs tools (requirements/docs.txt): transfer (fine-tuning
#   mmdet/mmseg models), benchmarks, the test suite, tools/build_docs.sh.
# A full environment serves pretrain too; `full` after `pretrain` replaces mmcv-lite by mmcv.
# Versions are pinned in requirements/*.txt.
#
# mmcv 2.1.0 with ops has no wheel on PyPI. It is built once from the PyPI sdist (setup.py
# switched to -std=c++20, which torch 2.14's headers need) into a wheel cache and reused:
#   $DSSL_WHEEL_CACHE (default ~/.cache/dense_ssl_mm/wheels/<cpu|cuda>)
# A ready wheel in any folder of $PIP_FIND_LINKS (space separated) is used instead of building.
# With nvcc on PATH (or FORCE_CUDA=1) the CUDA ops are built too, into a separate cache, and
# CPU-only wheels are not used. The first CPU build takes about 25 minutes on 2 cores.
#
# MMCV_OPS=cpu (full profile) installs the CPU-ops wheel even where a GPU is present; the
# pretrain profile needs no mmcv ops at all.
#
# Variables: PYTHON (default python3.11), DSSL_VENV (default <repo>/.venv), DSSL_PROFILE,
# MAX_JOBS, MMCV_OPS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFILE=${1:-${DSSL_PROFILE:-full}}
case "$PROFILE" in
  pretrain|full) ;;
  *) echo "[setup_env] unknown profile '$PROFILE': expected 'pretrain' or 'full'" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3.11}
VENV=${DSSL_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)
stamp() { echo "$VENV/.dense_ssl_mm-setup-$1"; }

log() { echo "[setup_env] $*"; }

fingerprint() {  # $1: profile
  cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/tools/setup_env.sh" | sha256sum | cut -d' ' -f1
  echo "$1 ${FORCE_CUDA:-0} ${MMCV_OPS:-auto}"
}

stack_ok() {  # $1: profile
  "$PY" - "$1" "${MMCV_OPS:-auto}" <<'PY' >/dev/null 2>&1
import sys
import mmcv, mmcv.cnn, mmcv.transforms, mmengine, torch, torchvision, dense_ssl_mm
assert mmcv.__version__ == '2.1.0'
if sys.argv[1] == 'full':
    import mmcv.ops, mmdet, mmseg
    if torch.cuda.is_available() and sys.argv[2] != 'cpu':  # a GPU appeared: CUDA ops wanted
        assert mmcv.ops.get_compiling_cuda_version() != 'not available'
PY
}

up_to_date() {  # $1: profile
  [ -f "$(stamp "$1")" ] && [ "$(cat "$(stamp "$1")")" = "$(fingerprint "$1")" ] && stack_ok "$1"
}

if up_to_date "$PROFILE" || { [ "$PROFILE" = pretrain ] && up_to_date full; }; then
  log "environment $VENV is up to date ($PROFILE)"
  exit 0
fi

if ! "$PY" -m pip --version >/dev/null 2>&1; then  # missing, or broken by an interrupted run
  command -v "$PYTHON" >/dev/null || { echo "[setup_env] $PYTHON not found: set PYTHON=/path/to/python3.11" >&2; exit 1; }
  log "creating $VENV with $PYTHON"
  "$PYTHON" -m venv --clear "$VENV"
fi

log "installing torch and build tools (requirements/build.txt)"
"${PIP[@]}" install -q -r "$ROOT/requirements/build.txt"

if [ "$PROFILE" = pretrain ]; then
  # Wheels only: nothing here may need a compiler. A compiled mmcv already present is kept.
  log "installing mmengine and mmcv-lite (requirements/pretrain.txt), wheels only"
  if "$PY" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' >/dev/null 2>&1; then
    "${PIP[@]}" install -q --only-binary :all: -r "$ROOT/requirements/runtime.txt" \
      "$(grep '^mmengine' "$ROOT/requirements/pretrain.txt")"
  else
    "${PIP[@]}" install -q --only-binary :all: -r "$ROOT/requirements/runtime.txt" \
      -r "$ROOT/requirements/pretrain.txt"
  fi
  log "installing dense_ssl_mm (editable)"
  "${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"
  stack_ok pretrain || { echo "[setup_env] the pretraining stack does not import; see above" >&2; exit 1; }
  fingerprint pretrain > "$(stamp pretrain)"
  log "done (pretrain): activate with 'source $VENV/bin/activate'"
  exit 0
fi

# full: mmcv-lite and mmcv both install the package `mmcv`; the compiled one replaces it.
if "${PIP[@]}" show -q mmcv-lite >/dev/null 2>&1; then
  log "replacing mmcv-lite by mmcv with compiled ops"
  "${PIP[@]}" uninstall -q -y mmcv-lite
fi

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
  -r "$ROOT/requirements/tests.txt" -r "$ROOT/requirements/eval.txt" \
  -r "$ROOT/requirements/docs.txt" --find-links "$CACHE"
"${PIP[@]}" install -q --no-deps -r "$ROOT/requirements/tests-nodeps.txt"
log "installing dense_ssl_mm (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

stack_ok full || { echo "[setup_env] the stack does not import; see the messages above" >&2; exit 1; }
fingerprint full > "$(stamp full)"
log "done (full): activate with 'source $VENV/bin/activate'"
