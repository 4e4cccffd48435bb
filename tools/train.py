"""Train with an OpenMMLab config: pretraining (dense_ssl_mm) or mmdet/mmseg fine-tuning.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

The logic lives in :mod:`dense_ssl_mm.apis.train` (``python -m dense_ssl_mm.apis.train``).
"""
from dense_ssl_mm.apis.train import main
from dense_ssl_mm.utils.cli import run_tool

if __name__ == '__main__':
    run_tool('train', main)
