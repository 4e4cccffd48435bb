#!/usr/bin/env bash
# Set up the environment if needed, then pretrain PixPro on the bundled demo photos (CPU).
# Extra args go to tools/train.py, e.g. --work-dir DIR or --cfg-options train_cfg.max_iters=50.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# DSSL_SKIP_SETUP=1: use the environment as it is (tests run this script in the full one).
[ "${DSSL_SKIP_SETUP:-0}" = 1 ] || bash "$ROOT/tools/setup_env.sh" pretrain
cd "$ROOT"
CONFIG=${DEMO_CONFIG:-configs/demo/pixpro_r18_demo.py}
PY="${DSSL_VENV:-$ROOT/.venv}/bin/python"
# files the config needs (demo_files: [out, tool, args...]), written by their tools if missing
"$PY" - "$CONFIG" <<'PYEOF'
import os.path as osp, subprocess, sys
from mmengine.config import Config
for out, tool, *args in Config.fromfile(sys.argv[1]).get('demo_files', []):
    if not osp.isfile(out):
        subprocess.run([sys.executable, tool, out, *args], check=True)
PYEOF
exec "$PY" tools/train.py "$CONFIG" "$@"
