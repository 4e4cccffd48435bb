"""Measure dense feature quality: label-free correspondence PCK, frozen segmentation, pictures.

    python tools/eval_dense.py CONFIG [CHECKPOINT] --work-dir DIR [--images FOLDER]
        [--seg-root FOLDER | --seg-config MMSEG_CONFIG] [--level C4|C5|dense|C3|C2]
        [--num-images 200] [--pairs-per-image 1] [--view-size 224] [--seg-size 224]
        [--seed 0] [--device cuda]
    # named protocols, each number written with its settings:
    python tools/eval_dense.py CONFIG CKPT --work-dir DIR --protocol hummingbird overcluster \
        linear --seg-config MMSEG_CONFIG [--size 224] [--memory-size M] [--train-list F]
    python tools/eval_dense.py CONFIG CKPT --work-dir DIR --protocol health --images HELD_OUT

CHECKPOINT: a pretraining checkpoint, an exported backbone or a torchvision ResNet state dict
(a supervised baseline); without it, the config's random initialisation (the baseline a run
must beat). Writes DIR/metrics.json and DIR/pictures/*.png; prints a one-line summary last.
"""
import argparse
import glob
import os.path as osp
import sys

import torch
from mmengine.config import Config

from dense_ssl_mm.evaluation import (LEVELS, PROTOCOLS, build_eval_model, dense_eval,  # noqa
                                     run_protocols, summary_line)
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils import install_checkpoint_io, load_local_checkpoint
from dense_ssl_mm.utils.cli import check_pretraining_config, existing_file


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', type=existing_file('config file'))
    parser.add_argument('checkpoint', nargs='?', type=existing_file('checkpoint'))
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--images', help='folder of images for the correspondence protocol')
    parser.add_argument('--seg-root', help='labelled folder: images/ + masks/ (255 = ignore)')
    parser.add_argument('--seg-config', help='an mmseg config whose train/val datasets to use')
    parser.add_argument('--level', choices=LEVELS, default='C4')
    parser.add_argument('--num-images', type=int, default=200)
    parser.add_argument('--pairs-per-image', type=int, default=1,
                        help='view pairs per image (steadier numbers on a small folder)')
    parser.add_argument('--view-size', type=int, default=224)
    parser.add_argument('--seg-size', type=int, default=224)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    named = parser.add_argument_group(
        'named protocols (--protocol; without it: correspondence PCK and the quick '
        'segmentation probes of the inputs given)')
    named.add_argument('--protocol', nargs='+', choices=PROTOCOLS,
                       help='hummingbird: dense retrieval (open-hummingbird-eval); '
                       'overcluster: k-means + matching (Leopart); linear: the NeCo/Leopart '
                       'probe; correspondence: PCK; health: monitors and a verdict on '
                       'held-out --images')
    named.add_argument('--size', type=int, help='protocol input size (hummingbird 224, '
                       'overcluster/linear 448)')
    named.add_argument('--passes', type=int, default=2, help='hummingbird memory passes')
    named.add_argument('--memory-size', type=int, help='hummingbird memory size M')
    named.add_argument('--train-list', type=existing_file('training list'),
                       help='training fraction file (one image name per line)')
    named.add_argument('--resolution', default='100',
                       help="linear probe resolution: 100 (NeCo/Leopart) or 'full'")
    named.add_argument('--epochs', type=int, default=25, help='linear probe epochs')
    named.add_argument('--ks', type=int, nargs='+', help='overclustering K values')
    named.add_argument('--cluster-seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    named.add_argument('--scalars', type=existing_file('scalars.json'),
                       help="health: the run's scalars.json (default: found beside the "
                       'checkpoint)')
    args = parser.parse_args(argv)
    if args.resolution != 'full' and not args.resolution.isdigit():
        parser.error(f"--resolution must be a number of pixels or 'full', got "
                     f'{args.resolution!r}')
    install_checkpoint_io()
    try:
        cfg = Config.fromfile(args.config)
        check_pretraining_config(cfg, args.config, MODELS)
        model = build_eval_model(cfg, args.checkpoint, args.seed, level=args.level)
        if args.protocol:
            results = run_named(args, cfg, model)
            print(f'metrics: {osp.join(args.work_dir, "metrics.json")}')
            for name in args.protocol:
                print(protocol_line(name, results[name]))
            return
        metrics = dense_eval(model.to(args.device), args.work_dir, args.images, args.level,
                             args.num_images, args.view_size, args.seed, args.seg_root,
                             args.seg_config, args.seg_size, args.batch_size,
                             pairs_per_image=args.pairs_per_image)
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as err:
        sys.exit(f'eval_dense: {err}')
    print(f'metrics: {osp.join(args.work_dir, "metrics.json")}; pictures: '
          f'{osp.join(args.work_dir, "pictures")}')
    print(summary_line(metrics))


def run_named(args, cfg, model) -> dict:
    """The named protocols of ``--protocol`` with their options."""
    options = dict(passes=args.passes, memory_size=args.memory_size, train_list=args.train_list,
                   resolution=args.resolution if args.resolution == 'full'
                   else int(args.resolution), epochs=args.epochs, ks=args.ks,
                   seeds=tuple(args.cluster_seeds), view_size=args.view_size,
                   num_images=args.num_images, pairs_per_image=args.pairs_per_image,
                   seed=args.seed, batch_size=args.batch_size)
    if args.size:
        options['size'] = args.size
    baseline = state = scalars = None
    if 'health' in args.protocol:
        baseline = build_eval_model(cfg, None, args.seed, level=args.level).to(args.device)
        if args.checkpoint:
            ckpt = load_local_checkpoint(args.checkpoint, map_location='cpu')
            state = ckpt.get('state_dict', ckpt)
            found = sorted(glob.glob(osp.join(osp.dirname(osp.abspath(args.checkpoint)), '*',
                                              'vis_data', 'scalars.json')))
            scalars = args.scalars or (found[-1] if found else None)
    return run_protocols(model.to(args.device), args.protocol, args.work_dir, args.level,
                         args.images, args.seg_root, args.seg_config, options, baseline,
                         state, scalars)


def protocol_line(name: str, result: dict) -> str:
    keys = [k for k in ('miou', 'miou_k', 'corr/pck@1', 'pck1', 'pck1_gain', 'rankme_share',
                        'spatial_share', 'position_r2', 'target_lag', 'verdict')]
    parts = []
    for key, value in result.items():
        if any(key == k or (k == 'miou_k' and key.startswith('miou_k') and
                            not key.endswith('_seeds')) for k in keys):
            parts.append(f'{key} {value:.4f}' if isinstance(value, float) else f'{key}: {value}')
    return f'{name} ({result.get("seconds")} s): ' + ', '.join(parts)


if __name__ == '__main__':
    main()
