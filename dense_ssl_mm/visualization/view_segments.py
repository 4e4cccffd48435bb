"""DetCon's segments as the model pools them: each view's cells coloured by their segment,
the same colour for the same segment in every view and in the image."""
from typing import Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config

from dense_ssl_mm.datasets.transforms.multi_view import VIEW_TRANSFORMS
from dense_ssl_mm.datasets.fh_masks import fh_segments
from dense_ssl_mm.models.utils import cell_segments
from dense_ssl_mm.registry import MODELS, TRANSFORMS
from dense_ssl_mm.utils.config_walk import find_by_type
from dense_ssl_mm.utils.errors import BadInputError


def _colours(ids: np.ndarray) -> np.ndarray:
    """A fixed colour per segment id (BGR uint8)."""
    rng = np.random.default_rng(12345)
    table = rng.integers(40, 256, (int(ids.max()) + 1, 3), dtype=np.uint8)
    return table[ids]


def view_segments(cfg: Config, img: np.ndarray) -> Tuple[dict, list, int]:
    """The config's views of ``img`` with their masks (``LoadFHMask``'s parameters, computed
    here), and each view's cell segments at the model's stride (what DetCon pools).

    Returns:
        The transform results (``views``, ``view_boxes``, ``view_flips``, ``view_masks``),
        the ``(H, W)`` cell-segment grid of each view, and the segments of the image.

    Raises:
        BadInputError: if the pipeline has no ``LoadFHMask`` or no ``MultiViewTransform``.
    """
    pipeline = cfg.train_dataloader.dataset.pipeline
    loads = find_by_type(pipeline, 'LoadFHMask')
    paired = find_by_type(pipeline, VIEW_TRANSFORMS)
    if not loads or not paired:
        raise BadInputError('the pipeline needs LoadFHMask and MultiViewTransform (DetCon)')
    load = TRANSFORMS.build(loads[0][1])
    segments = fh_segments(img, **load.params)
    sample = TRANSFORMS.build(paired[0][1])(dict(img=img, segments=segments))
    sample = TRANSFORMS.build(dict(type='MasksToViews'))(dict(sample, segments=segments))
    model = MODELS.build(cfg.model)
    stride = model.dense_stride()
    h, w = sample['views'][0].shape[:2]
    masks = torch.from_numpy(sample['view_masks'])
    grids = [cell_segments(m[None], (h // stride, w // stride))[0].view(h // stride, -1).numpy()
             for m in masks]
    return sample, grids, segments


def draw_view_segments(img: np.ndarray, sample: dict, grids: list,
                       segments: np.ndarray) -> np.ndarray:
    """The image with its segments and both crop boxes, then each view with its cells
    coloured by segment (the colour of that segment in the image)."""
    views, boxes = sample['views'], sample['view_boxes']
    h, w = views[0].shape[:2]
    left = cv2.addWeighted(img, 0.45, _colours(segments), 0.55, 0)
    for box, colour in zip(boxes, [(0, 200, 0), (0, 0, 230)]):
        cv2.rectangle(left, tuple(int(v) for v in box[:2]), tuple(int(v) - 1 for v in box[2:]),
                      colour, 2)
    left = cv2.resize(left, (int(left.shape[1] * h / left.shape[0]), h))
    panels = [left]
    for view, grid in zip(views, grids):
        cells = cv2.resize(_colours(grid), (w, h), interpolation=cv2.INTER_NEAREST)
        panel = cv2.addWeighted(view, 0.45, cells, 0.55, 0)
        rows, cols = grid.shape
        for i in range(1, rows):
            cv2.line(panel, (0, i * h // rows), (w, i * h // rows), (255, 255, 255), 1)
        for j in range(1, cols):
            cv2.line(panel, (j * w // cols, 0), (j * w // cols, h), (255, 255, 255), 1)
        panels.append(panel)
    gap = np.full((h, 8, 3), 255, np.uint8)
    out = [panels[0]]
    for panel in panels[1:]:
        out += [gap, panel]
    return np.concatenate(out, 1)
