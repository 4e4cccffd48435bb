#!/usr/bin/env bash
# Multi-GPU training on one machine with torchrun.
#   bash tools/dist_train.sh CONFIG NUM_GPUS [train.py args...]
# NNODES, NODE_RANK, MASTER_ADDR and PORT select a multi-node run.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG NUM_GPUS [tools/train.py args...]" >&2
  exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python)}
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$GPUS" \
  "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
