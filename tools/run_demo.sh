#!/usr/bin/env bash
# Set up the environment if needed, then pretrain PixPro on the bundled demo photos (CPU).
# Extra args go to tools/train.py, e.g. --work-dir DIR or --cfg-options train_cfg.max_iters=50.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh" pretrain
cd "$ROOT"
CONFIG=${DEMO_CONFIG:-configs/demo/pixpro_r18_demo.py}
exec "${DSSL_VENV:-$ROOT/.venv}/bin/python" tools/train.py "$CONFIG" "$@"
