#!/usr/bin/env bash
# The tiny CPU transfer path, end to end: set up (if needed) -> demo PixPro pretraining (if its
# checkpoint is not there yet) -> tiny COCO/VOC sets -> export -> Mask R-CNN and FCN
# fine-tuning for a few iterations -> COCO / mIoU evaluation -> results table.
# Extra args go to tools/benchmark_transfer.py (e.g. --branch momentum).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh" full
cd "$ROOT"
PY=${DSSL_VENV:-$ROOT/.venv}/bin/python
PRETRAIN=${PRETRAIN:-work_dirs/pixpro_r18_demo}
if [ ! -f "$PRETRAIN/last_checkpoint" ]; then
  "$PY" tools/train.py configs/demo/pixpro_r18_demo.py --work-dir "$PRETRAIN"
fi
"$PY" tools/make_tiny_datasets.py data/tiny
exec "$PY" tools/benchmark_transfer.py "$PRETRAIN" --work-dir work_dirs/transfer_demo \
  --configs configs/benchmarks/tiny/mask-rcnn_r18_fpn_tiny-coco.py \
            configs/benchmarks/tiny/fcn_r18-d8_tiny-voc.py "$@"
