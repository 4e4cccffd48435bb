"""Draw the two views of an image and the cell pairs the loss will use.

    python tools/visualize_views.py CONFIG [IMAGE] [--out views.png] [--seed 0]
        [--checkpoint CKPT]

Left: the image with both crop boxes (view 1 green, view 2 red). Right: the two views as the
model sees them (before normalisation), with lines joining the cells the head's matcher pairs:
PixPro/PixContrast positives, VADeR's sampled pairs, DenseCL's feature argmax (computed with
the model's backbone: random weights unless --checkpoint). Matching content at both ends of
every line is the check. The cell grid is the model's own: it is asked for its stride.
For DetCon (a pipeline with LoadFHMask) the picture shows the segments instead: the image
coloured by its FH segments, and each view's cells coloured by the segment DetCon pools them
into; the same colour must cover the same object in both views.
"""
import argparse
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from dense_ssl_mm.utils import install_checkpoint_io
from dense_ssl_mm.utils.cli import run_tool
from dense_ssl_mm.utils.config_walk import find_by_type
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.visualization import (draw_view_pairs, draw_view_segments, view_pairs,
                                        view_segments)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('image', nargs='?', help='default: the first bundled demo photo')
    parser.add_argument('--out', default='views.png')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--checkpoint', help='weights for feature-based matchers (DenseCL)')
    args = parser.parse_args(argv)
    install_checkpoint_io()
    cfg = Config.fromfile(args.config)
    image = args.image or osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                                   'demo', 'images', 'chelsea.jpg')
    if not osp.isfile(image):
        raise BadInputError(f'image {image!r} does not exist')
    img = cv2.imread(image)
    if img is None:
        raise BadInputError(f'cannot read image {image!r}')
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if find_by_type(cfg.train_dataloader.dataset.pipeline, 'LoadFHMask'):
        sample, grids, segments = view_segments(cfg, img)
        cv2.imwrite(args.out, draw_view_segments(img, sample, grids, segments))
        shared = sorted(int(i) for i in set(grids[0].ravel()) & set(grids[1].ravel()))
        print(f'{segments.max() + 1} segments in the image; cells per view '
              f'{grids[0].shape}; segments in both views {shared}; flips '
              f'{sample["view_flips"].tolist()}; wrote {args.out}')
        return
    sample, pairs, model = view_pairs(cfg, img, args.checkpoint and (
        lambda m: load_checkpoint(m, args.checkpoint, map_location='cpu')))
    cv2.imwrite(args.out, draw_view_pairs(img, sample, pairs))
    print(f'{len(pairs)} pairs at stride {model.dense_stride()}; flips '
          f'{sample["view_flips"].tolist()}; boxes {sample["view_boxes"].round(1).tolist()}; '
          f'wrote {args.out}')


if __name__ == '__main__':
    run_tool('visualize_views', main)
