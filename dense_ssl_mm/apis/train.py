"""Train with an OpenMMLab config: pretraining (dense_ssl_mm) or mmdet/mmseg fine-tuning.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

(``python -m dense_ssl_mm.apis.train`` is the same command without a checkout.)
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from dense_ssl_mm.registry import RUNNERS
from dense_ssl_mm.utils import install_checkpoint_io
from dense_ssl_mm.utils.cli import CfgOptionsAction, existing_file, run_tool
from dense_ssl_mm.utils.errors import BadInputFileError
from .launch import init_cpu_distributed, prepare_config, train_reporting_stops


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model from an OpenMMLab config')
    parser.add_argument('config', type=existing_file('config file'), help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in the work dir when '
        'no path is given')
    parser.add_argument('--amp', action='store_true', help='mixed precision (needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr by real batch / auto_scale_lr.base_batch_size')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys, e.g. train_dataloader.batch_size=32')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise BadInputFileError(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    install_checkpoint_io()
    cfg = prepare_config(cfg, args)
    init_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    code = train_reporting_stops(runner, args.config)
    if code:
        sys.exit(code)
    if runner.rank == 0:
        last = osp.join(cfg.work_dir, 'last_checkpoint')
        ckpt = open(last).read().strip() if osp.isfile(last) else '(none saved)'
        log = osp.join(runner.log_dir, f'{runner.timestamp}.log')
        print_log(f'done. checkpoint: {ckpt}\nlog: {osp.abspath(log)}\n'
                  f'work dir: {osp.abspath(cfg.work_dir)}', logger='current')


if __name__ == '__main__':
    run_tool('train', main)
