"""Measure dense feature quality: label-free correspondence PCK, frozen segmentation, pictures.

    python tools/eval_dense.py CONFIG [CHECKPOINT] --work-dir DIR [--images FOLDER]
        [--seg-root FOLDER | --seg-config MMSEG_CONFIG] [--level C4|C5|dense|C3|C2]
        [--num-images 200] [--pairs-per-image 1] [--view-size 224] [--seg-size 224]
        [--seed 0] [--device cuda]

CHECKPOINT: a pretraining checkpoint, an exported backbone or a torchvision ResNet state dict
(a supervised baseline); without it, the config's random initialisation (the baseline a run
must beat). Writes DIR/metrics.json and DIR/pictures/*.png; prints a one-line summary last.
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from dense_ssl_mm.evaluation import LEVELS, build_eval_model, dense_eval, summary_line  # noqa
from dense_ssl_mm.registry import MODELS  # noqa: E402
from dense_ssl_mm.utils import install_checkpoint_io  # noqa: E402
from dense_ssl_mm.utils.cli import check_pretraining_config, existing_file  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', type=existing_file('config'))
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
    args = parser.parse_args(argv)
    install_checkpoint_io()
    try:
        cfg = Config.fromfile(args.config)
        check_pretraining_config(cfg, args.config, MODELS)
        model = build_eval_model(cfg, args.checkpoint, args.seed, level=args.level)
        metrics = dense_eval(model.to(args.device), args.work_dir, args.images, args.level,
                             args.num_images, args.view_size, args.seed, args.seg_root,
                             args.seg_config, args.seg_size, args.batch_size,
                             pairs_per_image=args.pairs_per_image)
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as err:
        sys.exit(f'eval_dense: {err}')
    print(f'metrics: {osp.join(args.work_dir, "metrics.json")}; pictures: '
          f'{osp.join(args.work_dir, "pictures")}')
    print(summary_line(metrics))


if __name__ == '__main__':
    main()
