"""The cell pairs a model's head matches between two views of one image, and their picture."""
from typing import Callable, List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config

from dense_ssl_mm.datasets.transforms.multi_view import VIEW_TRANSFORMS
from dense_ssl_mm.geometry.correspondence import cell_centers
from dense_ssl_mm.models.matchers import CellMask, PointPairs
from dense_ssl_mm.registry import MODELS, TRANSFORMS
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.utils.config_walk import find_by_type
from dense_ssl_mm.utils.errors import BadInputError

Pair = Tuple[np.ndarray, np.ndarray]  # an original-image point in view 1, one in view 2


def view_pairs(cfg: Config, img: np.ndarray,
               load: Optional[Callable] = None) -> Tuple[dict, List[Pair], torch.nn.Module]:
    """Run the config's ``MultiViewTransform`` on ``img`` (HxWx3 BGR) and its model's
    matcher on the two views, at the model's own stride.

    Args:
        cfg: A pretraining config.
        img: The image.
        load: Called with the built model to load weights (feature-based matchers).

    Returns:
        The transform's results, the pairs as original-image points ``(x, y)`` of the matched
        cells in view 1 and view 2, and the model.

    Raises:
        BadInputError: if the pipeline has no ``MultiViewTransform`` (naming the config).
    """
    paired = find_by_type(cfg.train_dataloader.dataset.pipeline, VIEW_TRANSFORMS)
    if not paired:
        raise BadInputError(f'{cfg.filename}: no MultiViewTransform in '
                            'train_dataloader.dataset.pipeline')
    sample = TRANSFORMS.build(paired[0][1])(dict(img=img, img_shape=img.shape[:2],
                                                 ori_shape=img.shape[:2]))
    model = MODELS.build(cfg.model)
    model.init_weights()
    if load is not None:
        load(model)
    model.eval()
    stride = model.dense_stride()
    h, w = sample['views'][0].shape[:2]
    size = (h // stride, w // stride)
    boxes = torch.from_numpy(sample['view_boxes'])[:, None].double()  # [2, 1, 4]
    flips = torch.from_numpy(sample['view_flips'])[:, None]
    geometry = ViewData.from_tensors(
        boxes, flips, torch.tensor([img.shape[:2]], dtype=torch.double))
    head = getattr(model, 'dense_head', model.head)  # DenseCL's dense head, else the head
    maps = [torch.zeros(1, 1, *size)] * 2
    features = None
    if type(head.matcher).__name__ == 'FeatureArgmax':
        views = torch.from_numpy(np.stack(sample['views'])).permute(0, 3, 1, 2)[:, None]
        packed = model.data_preprocessor(dict(inputs=[views[:, 0]], data_samples=[
            ViewData(boxes=boxes[:, 0], flips=flips[:, 0])]))
        with torch.no_grad():
            features = [model.backbone(v)[-1] for v in packed['inputs']]
        maps = [f[:, :1] for f in features]
        size = tuple(features[0].shape[-2:])
    if size in ((1, 1), ) or type(head.matcher).__name__ == 'WholeImage':
        return sample, [], model
    match = head.match(maps, maps, geometry, features).matches[0]
    c1 = cell_centers(boxes[0], flips[0], size)[0]
    c2 = cell_centers(boxes[1], flips[1], size)[0]
    if isinstance(match, CellMask):
        pairs = [(c1[i].numpy(), c2[j].numpy()) for i, j in match.mask[0].nonzero().tolist()]
    elif isinstance(match, PointPairs) and match.key_index is not None:
        pairs = [(c1[i].numpy(), c2[j].numpy())
                 for i, j in zip(match.query_index[0].tolist(), match.key_index[0].tolist())]
    else:  # sub-pixel keys: the same image point in both views
        points = c1[match.query_index[0]][match.valid[0]].numpy()
        pairs = [(p, p) for p in points]
    return sample, pairs, model


def view_point(points: np.ndarray, box, flip: bool, size) -> np.ndarray:
    """Original-image points -> pixel positions inside a view of ``size`` (h, w)."""
    x1, y1, x2, y2 = box
    u = (points[:, 0] - x1) / (x2 - x1) * size[1]
    v = (points[:, 1] - y1) / (y2 - y1) * size[0]
    if flip:
        u = size[1] - u
    return np.stack([u, v], 1)


def draw_view_pairs(img: np.ndarray, sample: dict, pairs: List[Pair]) -> np.ndarray:
    """The image with both crop boxes, then both views joined by one line per pair."""
    views, boxes, flips = sample['views'], sample['view_boxes'], sample['view_flips']
    h, w = views[0].shape[:2]
    left = img.copy()
    for box, colour in zip(boxes, [(0, 200, 0), (0, 0, 230)]):
        cv2.rectangle(left, tuple(int(v) for v in box[:2]), tuple(int(v) - 1 for v in box[2:]),
                      colour, 2)
    left = cv2.resize(left, (int(left.shape[1] * h / left.shape[0]), h))
    gap = np.full((h, 8, 3), 255, np.uint8)
    right = np.concatenate([views[0], gap, views[1]], 1)
    rng = np.random.default_rng(0)
    for p1, p2 in pairs:
        a = view_point(np.asarray(p1)[None], boxes[0], flips[0], (h, w))[0]
        b = view_point(np.asarray(p2)[None], boxes[1], flips[1], (h, w))[0] + [w + 8, 0]
        colour = tuple(int(c) for c in rng.integers(64, 255, 3))
        cv2.line(right, tuple(int(v) for v in a), tuple(int(v) for v in b), colour, 1)
        cv2.circle(right, tuple(int(v) for v in a), 2, colour, -1)
        cv2.circle(right, tuple(int(v) for v in b), 2, colour, -1)
    return np.concatenate([left, gap, right], 1)
