"""Evaluate a checkpoint with an OpenMMLab config (mmdet / mmseg benchmark configs).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-metrics metrics.json]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

The logic lives in :mod:`dense_ssl_mm.apis.test` (``python -m dense_ssl_mm.apis.test``).
"""
from dense_ssl_mm.apis.test import main
from dense_ssl_mm.utils.cli import run_tool

if __name__ == '__main__':
    run_tool('test', main)
