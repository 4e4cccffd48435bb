"""Draw the two views of an image and the cell pairs the loss will use.

    python tools/visualize_views.py CONFIG [IMAGE] [--out views.png] [--seed 0] [--stride N]

Left: the image with both crop boxes (view 1 green, view 2 red; a flipped view's box is
dashed at its left edge). Right: the two views as the model sees them (before normalisation),
with lines joining corresponding cells: PixPro/PixContrast positive pairs (distance < T) or
VADeR matched pairs. Matching content at both ends of every line is the check.
"""
import argparse
import os.path as osp
import sys

import cv2
import numpy as np
import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from dense_ssl_mm.models.utils import (cell_centers, positive_mask,  # noqa: E402
                                       sample_matched_pairs)
from dense_ssl_mm.registry import TRANSFORMS  # noqa: E402


def view_point(points: np.ndarray, box, flip: bool, size) -> np.ndarray:
    """Original-image points -> pixel positions inside a view of ``size`` (h, w)."""
    x1, y1, x2, y2 = box
    u = (points[:, 0] - x1) / (x2 - x1) * size[1]
    v = (points[:, 1] - y1) / (y2 - y1) * size[0]
    if flip:
        u = size[1] - u
    return np.stack([u, v], 1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('image', nargs='?', help='default: the first bundled demo photo')
    parser.add_argument('--out', default='views.png')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--stride', type=int, help='feature stride (default: 4 for VADeR, '
                        'else 32)')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    image = args.image or osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                                   'demo', 'images', 'chelsea.jpg')
    paired = [t for t in cfg.train_dataloader.dataset.pipeline
              if t['type'] == 'PairedViewTransform']
    if not paired:
        sys.exit(f'{args.config}: no PairedViewTransform in train_dataloader.dataset.pipeline')
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    img = cv2.imread(image)
    if img is None:
        sys.exit(f'cannot read image {image!r}')
    out = TRANSFORMS.build(paired[0])(dict(img=img, img_shape=img.shape[:2]))
    views, boxes, flips = out['views'], out['view_boxes'], out['view_flips']
    h, w = views[0].shape[:2]
    vader = cfg.model.type == 'VADeR'
    stride = args.stride or (4 if vader else 32)
    size = (h // stride, w // stride)
    tb, tf = torch.from_numpy(boxes)[:, None].double(), torch.from_numpy(flips)[:, None]
    if vader:
        index, _, valid = sample_matched_pairs(tb[0], tf[0], size, tb[1], tf[1],
                                               cfg.model.head.num_samples)
        pts = cell_centers(tb[0], tf[0], size)[0, index[0]].numpy()
        pairs = [(p, p) for p in pts[valid[0].numpy()]]
    else:
        mask = positive_mask(tb[0], tf[0], size, tb[1], tf[1], size,
                             cfg.model.head.pos_threshold)[0]
        c1, c2 = cell_centers(tb[0], tf[0], size)[0], cell_centers(tb[1], tf[1], size)[0]
        pairs = [(c1[i].numpy(), c2[j].numpy()) for i, j in mask.nonzero().tolist()]
    canvas_l = img.copy()
    for box, colour in zip(boxes, [(0, 200, 0), (0, 0, 230)]):
        cv2.rectangle(canvas_l, tuple(int(v) for v in box[:2]), tuple(int(v) - 1 for v in box[2:]),
                      colour, 2)
    scale = h / canvas_l.shape[0]
    canvas_l = cv2.resize(canvas_l, (int(canvas_l.shape[1] * scale), h))
    right = np.concatenate([views[0], np.full((h, 8, 3), 255, np.uint8), views[1]], 1)
    for p1, p2 in pairs:
        a = view_point(p1[None], boxes[0], flips[0], (h, w))[0]
        b = view_point(p2[None], boxes[1], flips[1], (h, w))[0] + [w + 8, 0]
        colour = tuple(int(c) for c in np.random.randint(64, 255, 3))
        cv2.line(right, tuple(int(v) for v in a), tuple(int(v) for v in b), colour, 1)
        cv2.circle(right, tuple(int(v) for v in a), 2, colour, -1)
        cv2.circle(right, tuple(int(v) for v in b), 2, colour, -1)
    cv2.imwrite(args.out, np.concatenate([canvas_l, np.full((h, 8, 3), 255, np.uint8), right],
                                         1))
    print(f'{len(pairs)} pairs; flips {flips.tolist()}; boxes {boxes.round(1).tolist()}; '
          f'wrote {args.out}')


if __name__ == '__main__':
    main()
