"""Evaluate a checkpoint with an OpenMMLab config (mmdet / mmseg benchmark configs).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-metrics metrics.json]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

(``python -m dense_ssl_mm.apis.test`` is the same command without a checkout.)
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from dense_ssl_mm.utils import install_checkpoint_io
from dense_ssl_mm.utils.cli import CfgOptionsAction, existing_file, run_tool
from .launch import init_cpu_distributed, prepare_config


def to_json(value):
    """Metric values are python, numpy or torch scalars (or strings such as tables)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', type=existing_file('config file'))
    parser.add_argument('checkpoint', type=existing_file('checkpoint'))
    parser.add_argument('--work-dir')
    parser.add_argument('--out-metrics', help='write the metrics as JSON to this file')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    install_checkpoint_io()
    cfg = Config.fromfile(args.config)
    args.resume = None
    cfg = prepare_config(cfg, args)
    cfg.load_from = args.checkpoint
    init_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out_metrics and runner.rank == 0:
        os.makedirs(osp.dirname(osp.abspath(args.out_metrics)), exist_ok=True)
        with open(args.out_metrics, 'w') as f:
            json.dump({k: to_json(v) for k, v in metrics.items()}, f, indent=2)
    return metrics


if __name__ == '__main__':
    run_tool('test', main)
