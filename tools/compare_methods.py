"""Pretrain every method on the same data with the same budget; print one table.

    # the demo photos on a CPU (every method's demo config, 150 iterations each, 3 seeds)
    python tools/compare_methods.py --work-dir work_dirs/compare --seeds 0 1 2
    # real data on GPUs: the full configs, a folder of images, 8 GPUs per run
    python tools/compare_methods.py --configs configs/pixpro_r50_coco.py \
        configs/densecl_r50_coco.py ... --data-root data/coco/train2017 --iters 20000 \
        --batch-size 32 --launcher pytorch --gpus 8 --eval-images data/coco/val2017

Each run: the method's own model, optimizer and augmentation; shared: data, iterations,
images per step, schedule shape and seed (dense_ssl_mm/apis/compare.py). Then the same
dense evaluation of the C4 features of every final checkpoint and of a random
initialisation: correspondence PCK on --eval-images, kNN / linear-probe mIoU on --seg-root
(default: texture mosaics made from the bundled CC0 photos). Loss scales differ between
methods: compare each loss with its own start, not across rows.
"""
import argparse
import glob
import logging
import os
import os.path as osp

import torch
from mmengine.config import Config

from dense_ssl_mm.apis.compare import aggregate_seeds, compare_methods, write_comparison
from dense_ssl_mm.evaluation.mosaics import make_texture_mosaics
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils import install_checkpoint_io
from dense_ssl_mm.utils.cli import check_pretraining_config, existing_file, run_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMOS = ['pixpro_r18_demo.py', 'pixcontrast_r18_demo.py', 'vader_r18_fpn_demo.py',
         'densecl_r18_demo.py', 'mocov2_r18_demo.py', 'detconb_r18_demo.py',
         'detcons_r18_demo.py', 'vicregl_r18_demo.py']


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--configs', nargs='+', type=existing_file('config file'),
                        default=[osp.join(ROOT, 'configs', 'demo', c) for c in DEMOS])
    parser.add_argument('--work-dir', default='work_dirs/compare')
    parser.add_argument('--iters', type=int, default=150)
    parser.add_argument('--batch-size', type=int, help='images per step and process')
    parser.add_argument('--data-root', help='a folder of training images (default: each '
                        "config's data)")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='one run per seed; several: a table of mean ± half range')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--gpus', type=int, default=1)
    parser.add_argument('--eval-images', help='held-out images: a folder or a list file '
                        '(default: the two held-out demo photos)',
                        default=osp.join(ROOT, 'configs', 'demo', 'heldout_photos.txt'))
    parser.add_argument('--seg-root', help='labelled folder (default: texture mosaics)')
    parser.add_argument('--view-size', type=int, default=128)
    parser.add_argument('--seg-size', type=int, default=128)
    parser.add_argument('--pairs-per-image', type=int, default=20)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)
    for path in args.configs:
        try:
            check_pretraining_config(Config.fromfile(path), path, MODELS)
        except ValueError as err:
            parser.error(str(err))
    install_checkpoint_io()
    logging.getLogger('mmengine').setLevel(logging.WARNING)  # weight-init reports of each eval
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    seg_root = args.seg_root
    if seg_root is None:
        seg_root = osp.join(work_dir, 'texture_mosaics')
        textures = sorted(glob.glob(osp.join(ROOT, 'configs', 'eval', 'textures', '*.jpg')))
        make_texture_mosaics(textures, seg_root, 16, 8, args.seg_size, seed=0)
    eval_args = dict(images=args.eval_images, view_size=args.view_size, seg_root=seg_root,
                     seg_size=args.seg_size, pairs_per_image=args.pairs_per_image)
    runs = []
    for seed in args.seeds:
        seed_dir = work_dir if len(args.seeds) == 1 else osp.join(work_dir, f'seed{seed}')
        os.makedirs(seed_dir, exist_ok=True)
        rows = compare_methods(args.configs, seed_dir, args.iters, args.batch_size,
                               args.data_root, seed, args.launcher, args.gpus, eval_args,
                               args.device, log=lambda m: print(m, flush=True))
        runs.append(rows)
        if len(args.seeds) > 1:
            write_comparison(rows, seed_dir)
    rows = runs[0] if len(runs) == 1 else aggregate_seeds(runs)
    print(write_comparison(rows, work_dir))
    print(f'table: {work_dir}/compare.md; per-run logs and pictures under {work_dir}/')
    return 0 if all(r['status'] == 'ok' for r in rows) else 1


if __name__ == '__main__':
    run_tool('compare_methods', main)
