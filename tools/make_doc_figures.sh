#!/usr/bin/env bash
# Regenerate the pictures the method pages show (configs/demo/expected/): run each demo
# config on the bundled photos and copy its held-out curves and its last PCA picture.
#   bash tools/make_doc_figures.sh                       # every demo in configs/demo/
#   bash tools/make_doc_figures.sh configs/demo/densecl_r18_demo.py ...
# CPU, one demo at a time (1 to 5 minutes each on 2 cores); the runs go to
# work_dirs/doc_figures/<demo>/. The environment is used as it is (run setup_env.sh first).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EXPECTED=configs/demo/expected
if [ "$#" -gt 0 ]; then CONFIGS=("$@"); else CONFIGS=(configs/demo/*.py); fi
for config in "${CONFIGS[@]}"; do
  name=$(basename "$config" .py)
  work=work_dirs/doc_figures/$name
  echo "[make_doc_figures] $name -> $work"
  rm -rf "$work" && mkdir -p work_dirs/doc_figures
  DSSL_SKIP_SETUP=1 DEMO_CONFIG="$config" bash tools/run_demo.sh --work-dir "$work" > "$work.log" 2>&1 \
    || { echo "[make_doc_figures] $name failed: see $work.log" >&2; exit 1; }
  cp "$work/dense_eval/curves.png" "$EXPECTED/${name}_curves.png"
  last=$(ls "$work"/dense_eval/pca_iter_*.png | sed 's/.*pca_iter_\([0-9]*\)\.png$/\1 &/' \
    | sort -n | tail -1 | cut -d' ' -f2)
  cp "$last" "$EXPECTED/${name}_pca.png"
  echo "[make_doc_figures] $name: $EXPECTED/${name}_curves.png, ${name}_pca.png (from $(basename "$last"))"
done
