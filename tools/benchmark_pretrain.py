"""Measure the whole pretraining step of a config: img/s, data wait, peak memory.

    # synthetic batches (the model alone)
    python tools/benchmark_pretrain.py configs/pixpro_r50_coco.py --batch-size 32
    # a folder of JPEGs through the config's real dataloader with N workers
    python tools/benchmark_pretrain.py configs/pixpro_r50_coco.py --data-root DIR --workers 8
    # speed switches: --cfg-options speed.channels_last=True speed.bf16=True ...
    # the device-side view pipeline (CPU workers only decode): speed.device_views=True

A step is what training does: ``model.train_step`` (data preprocessor, both views through
the online and target branches, loss, backward, the config's optimizer) plus the momentum
update. Prints one markdown table row per config (several configs: timed back to back in one
process, with each step time's ratio to the first config's).
"""
import argparse
import copy
import itertools
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from dense_ssl_mm.engine.speed import apply_speed_config
from dense_ssl_mm.operations.benchmark import (build_for_benchmark, folder_loader, peak_memory,
                                               synthetic_batch, synthetic_images,
                                               time_train_steps)
from dense_ssl_mm.operations.memory import config_view_size, estimate_step_memory
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.cli import CfgOptionsAction, check_pretraining_config, existing_file
from dense_ssl_mm.utils.cli import run_tool


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', type=existing_file('config file'),
                        help='one or more configs, timed one after the other in this process '
                        '(the step-time ratio to the first is printed)')
    parser.add_argument('--batch-size', type=int,
                        help='images per step (default 8; with --estimate-memory the '
                        "config's per-GPU batch)")
    parser.add_argument('--img-size', type=int,
                        help="size of the first view (default: the config's; other views in "
                        "proportion; with --estimate-memory the config's view size)")
    parser.add_argument('--estimate-memory', action='store_true',
                        help='estimate the memory of a training step with fake tensors '
                        '(no arithmetic, any machine) instead of timing it')
    parser.add_argument('--data-root', help='a folder of images: real-data mode')
    parser.add_argument('--workers', type=int, default=4, help='dataloader workers (real data)')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction, default={})
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    configs = []
    for path in args.configs:
        cfg = Config.fromfile(path)
        try:
            check_pretraining_config(cfg, path, MODELS)
        except ValueError as err:
            parser.error(str(err))
        cfg.merge_from_dict(args.cfg_options)
        apply_speed_config(cfg)  # once: model, optimizer and dataloader settings together
        configs.append((path, cfg))
    init_default_scope(configs[0][1].get('default_scope', 'dense_ssl_mm'))
    if args.estimate_memory:
        for path, cfg in configs:
            print(memory_table(cfg, path, args.batch_size, args.img_size))
        return
    print('| config | device | data | batch | switches | step (s) | img/s | data wait | '
          'peak memory | loss | step / first |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    first = None
    for path, cfg in configs:
        row, step = time_config(path, cfg, args, device)
        first = first or step
        print(f'{row} {step / first:.2f} |', flush=True)


def time_config(path: str, cfg: Config, args, device: torch.device):
    """One markdown row (without the ratio) and the mean step time of ``cfg``."""
    batch_size = args.batch_size or 8
    model, optim_wrapper = build_for_benchmark(cfg, device)
    if args.data_root:
        batches = iter(folder_loader(cfg, args.data_root, batch_size, args.workers))
        mode = f'{osp.basename(osp.normpath(args.data_root))}, {args.workers} workers'
    elif (cfg.get('speed') or {}).get('device_views'):
        batches = itertools.repeat(synthetic_images(batch_size))
        mode = 'synthetic 640 x 480 images, views on the device'
    else:
        data = synthetic_batch(cfg, batch_size, args.img_size)
        batches = itertools.repeat(data)
        first = data['inputs'][0]
        groups = first if isinstance(first, list) else [first]
        mode = 'synthetic ' + ' + '.join(f'{g.shape[0]} x {g.shape[-1]}' for g in groups) + ' px'
    result = time_train_steps(model, optim_wrapper, batches, args.iters, args.warmup, device)
    switches = ', '.join(k for k, v in (cfg.get('speed') or {}).items() if v) or 'none'
    name = osp.splitext(osp.basename(path))[0]
    row = (f'| {name} | {device.type} ({torch.get_num_threads()} threads) | {mode} | '
           f'{batch_size} | {switches} | {result["step_s"]:.3f} | '
           f'{result["images"] / result["step_s"]:.1f} | {result["data_wait"] * 100:.1f} % | '
           f'{peak_memory(device)} | {result["loss"]:.4f} |')
    return row, result['step_s']


def memory_table(cfg, config_path: str, batch_size=None, img_size=None) -> str:
    """Estimated memory of a training step of ``cfg`` in fp32 and bf16, as a markdown table."""
    batch_size = batch_size or cfg.train_dataloader.batch_size
    img_size = img_size or config_view_size(cfg)
    data = synthetic_batch(cfg, batch_size, img_size)
    first = data['inputs'][0]
    views = ' + '.join(f'{g.shape[0]} x {g.shape[-1]}'
                       for g in (first if isinstance(first, list) else [first]))
    rows = {}
    for name, dtype in (('fp32', None), ('bf16', torch.bfloat16)):
        model, optim_wrapper = build_for_benchmark(copy.deepcopy(cfg), torch.device('cpu'))
        rows[name] = estimate_step_memory(model, optim_wrapper, data, dtype)
    fits = ', '.join(f'{gb} GB {"yes" if rows["bf16"]["total"] + 0.5 < gb * 0.93 else "no"}'
                     for gb in (24, 40, 80))
    name = osp.splitext(osp.basename(config_path))[0]
    return ('| config | batch | views | parameters + buffers | step peak fp32 / bf16 | '
            'total fp32 / bf16 | fits (bf16 + 0.5 GiB context) |\n|---|---|---|---|---|---|---|\n'
            f'| {name} | {batch_size} | {views} px | {rows["fp32"]["model"]:.2f} GiB | '
            f'{rows["fp32"]["step"]:.2f} / {rows["bf16"]["step"]:.2f} GiB | '
            f'{rows["fp32"]["total"]:.2f} / {rows["bf16"]["total"]:.2f} GiB | {fits} |')


if __name__ == '__main__':
    run_tool('benchmark_pretrain', main)
