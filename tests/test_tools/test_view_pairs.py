"""The view-pairs picture uses the model's own stride and matcher."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from dense_ssl_mm.visualization import draw_view_pairs, view_pairs
from ..conftest import REPO

DEMO = osp.join(REPO, 'configs', 'demo')
IMAGE = osp.join(DEMO, 'images', 'chelsea.jpg')


@pytest.mark.parametrize('config,stride', [('pixpro_r18_demo.py', 32),
                                           ('vader_r18_fpn_demo.py', 4),
                                           ('densecl_r18_demo.py', 32),
                                           ('mocov2_r18_demo.py', 32)])
def test_pairs_follow_the_models_matcher(config, stride):
    np.random.seed(1)
    torch.manual_seed(1)
    img = cv2.imread(IMAGE)
    sample, pairs, model = view_pairs(Config.fromfile(osp.join(DEMO, config)), img)
    assert model.dense_stride() == stride
    boxes = sample['view_boxes']
    cells = 128 // stride
    diag = max(np.hypot((b[2] - b[0]) / cells, (b[3] - b[1]) / cells) for b in boxes)
    if config.startswith('pixpro'):  # positives: centres closer than T = 0.7 bin diagonals
        assert pairs and all(np.hypot(*(p - q)) / diag < 0.7 for p, q in pairs)
    elif config.startswith('vader'):  # the same image point, inside both crops
        assert len(pairs) == 32
        for p, q in pairs:
            assert np.array_equal(p, q)
            assert all(b[0] <= p[0] <= b[2] and b[1] <= p[1] <= b[3] for b in boxes)
    elif config.startswith('densecl'):  # every query cell gets exactly one key cell
        assert len(pairs) == cells * cells
    else:  # MoCo v2 matches whole images: no cell pairs to draw
        assert pairs == []
    picture = draw_view_pairs(img, sample, pairs)
    assert picture.shape[0] == 128 and picture.shape[1] > 2 * 128
