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

import torch
from mmengine.config import Config

from dense_ssl_mm.evaluation import (BATCH_SIZE, DEFAULT_LEVEL, LEVELS,  # noqa
                                     build_eval_model, dense_eval, protocol_names,
                                     run_protocols, summary_line)
from dense_ssl_mm.evaluation.protocols import (Correspondence, Hummingbird, Linear,
                                               Overcluster, SegmentationReadout)
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils import install_checkpoint_io
from dense_ssl_mm.utils.checkpoint import read_weights
from dense_ssl_mm.utils.cli import check_pretraining_config, existing_file, run_tool


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', type=existing_file('config file'))
    parser.add_argument('checkpoint', nargs='?', type=existing_file('checkpoint'))
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--images', help='folder of images for the correspondence protocol')
    parser.add_argument('--seg-root', help='labelled folder: images/ + masks/ (255 = ignore)')
    parser.add_argument('--seg-config', help='an mmseg config whose train/val datasets to use')
    parser.add_argument('--level', choices=LEVELS, default=DEFAULT_LEVEL)
    parser.add_argument('--num-images', type=int,
                        help=f'correspondence images (default {Correspondence.num_images})')
    parser.add_argument('--pairs-per-image', type=int,
                        help='view pairs per image (steadier numbers on a small folder; '
                        f'default {Correspondence.pairs_per_image})')
    parser.add_argument('--view-size', type=int,
                        help=f'correspondence view size (default {Correspondence.view_size})')
    parser.add_argument('--seg-size', type=int, help='segmentation read-out size (default '
                        f'{SegmentationReadout.size})')
    parser.add_argument('--batch-size', type=int, default=BATCH_SIZE)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    named = parser.add_argument_group(
        'named protocols (--protocol; without it: correspondence PCK and the quick '
        'segmentation probes of the inputs given)')
    named.add_argument('--protocol', nargs='+', choices=protocol_names(),
                       help='hummingbird: dense retrieval (open-hummingbird-eval); '
                       'overcluster: k-means + matching (Leopart); linear: the NeCo/Leopart '
                       'probe; correspondence: PCK; health: monitors and a verdict on '
                       'held-out --images; segmentation: the quick kNN / linear read-out')
    named.add_argument('--size', type=int, help=f'protocol input size (hummingbird '
                       f'{Hummingbird.size}, overcluster {Overcluster.size}, linear '
                       f'{Linear.size}, segmentation {SegmentationReadout.size})')
    named.add_argument('--passes', type=int,
                       help=f'hummingbird memory passes (default {Hummingbird.passes})')
    named.add_argument('--memory-size', type=int, help='hummingbird memory size M')
    named.add_argument('--train-list', type=existing_file('training list'),
                       help='training fraction file (one image name per line)')
    named.add_argument('--resolution', help='linear probe resolution: a number of pixels '
                       f"(default {Linear.resolution}, NeCo/Leopart) or 'full'")
    named.add_argument('--epochs', type=int,
                       help=f'linear probe epochs (default {Linear.epochs})')
    named.add_argument('--ks', type=int, nargs='+', help='overclustering K values')
    named.add_argument('--cluster-seeds', type=int, nargs='+',
                       help=f'overclustering seeds (default {list(Overcluster.seeds)})')
    named.add_argument('--scalars', type=existing_file('scalars.json'),
                       help="health: the run's scalars.json (default: found beside the "
                       'checkpoint)')
    args = parser.parse_args(argv)
    if args.resolution not in (None, 'full') and not args.resolution.isdigit():
        parser.error(f"--resolution must be a number of pixels or 'full', got "
                     f'{args.resolution!r}')
    install_checkpoint_io()
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
    print(f'metrics: {osp.join(args.work_dir, "metrics.json")}; pictures: '
          f'{osp.join(args.work_dir, "pictures")}')
    print(summary_line(metrics))


def run_named(args, cfg, model) -> dict:
    """The named protocols of ``--protocol`` with their options."""
    resolution = args.resolution
    options = dict(passes=args.passes, memory_size=args.memory_size, train_list=args.train_list,
                   resolution=int(resolution) if resolution and resolution.isdigit()
                   else resolution, epochs=args.epochs, ks=args.ks,
                   seeds=tuple(args.cluster_seeds) if args.cluster_seeds else None,
                   view_size=args.view_size, num_images=args.num_images,
                   pairs_per_image=args.pairs_per_image, seed=args.seed,
                   batch_size=args.batch_size, size=args.size)
    baseline = state = scalars = None
    if 'health' in args.protocol:
        baseline = build_eval_model(cfg, None, args.seed, level=args.level).to(args.device)
        if args.checkpoint:
            state, _ = read_weights(args.checkpoint, map_location='cpu')
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
        if '_miou@' in key or any(key == k or (k == 'miou_k' and key.startswith('miou_k') and
                                               not key.endswith('_seeds')) for k in keys):
            parts.append(f'{key} {value:.4f}' if isinstance(value, float) else f'{key}: {value}')
    return f'{name} ({result.get("seconds")} s): ' + ', '.join(parts)


if __name__ == '__main__':
    run_tool('eval_dense', main)
