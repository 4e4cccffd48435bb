"""Fixed-seed view pairs with known geometry, for the label-free correspondence protocol."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from dense_ssl_mm.datasets.transforms.view_spec import JitterSpec, ViewSpec
from dense_ssl_mm.geometry.correspondence import cell_centers, project_points
from dense_ssl_mm.geometry.crop_boxes import NumpyDraws, draw_crop_box
from dense_ssl_mm.image_ops.color import ADJUST, jitter_ranges
from dense_ssl_mm.image_ops.resize import resize_antialiased

#: Used for a model without a data preprocessor (every config here has one).
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
#: The protocol's views, the same for every method compared (the view size is the
#: evaluation's own argument): crops of 30-100 % of the image, flips, mild colour jitter.
EVAL_VIEW_PIPELINE = [
    dict(type='RandomResizedCropWithBox', size=224, scale=(0.3, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),
]


def eval_view_spec(pipeline: Optional[Sequence[dict]] = None) -> ViewSpec:
    """The :class:`ViewSpec` of the evaluation's views (default :data:`EVAL_VIEW_PIPELINE`).

    Raises:
        ValueError: for a photometric op other than a brightness / contrast / saturation
            jitter (the protocol's views have no other).
    """
    spec = ViewSpec.from_pipeline(EVAL_VIEW_PIPELINE if pipeline is None else pipeline)
    for op in spec.ops:
        if not isinstance(op, JitterSpec) or op.strengths[3] != 0 or op.prob != 1.0:
            raise ValueError(f'evaluation views jitter brightness, contrast and saturation '
                             f'always (prob 1, no hue); the spec has {op}')
    return spec


def to_tensor(img_rgb: np.ndarray) -> Tensor:
    """``(H, W, 3)`` uint8 RGB -> ``(3, H, W)`` float32 in [0, 255]."""
    return torch.from_numpy(np.ascontiguousarray(img_rgb)).permute(2, 0, 1).float()


def normalize(images: Tensor, model: Optional[nn.Module] = None) -> Tensor:
    """``(N, 3, H, W)`` RGB in [0, 255] -> what ``model`` takes: normalised with its data
    preprocessor's mean and std, in BGR order where that preprocessor keeps mmcv's BGR
    (``bgr_to_rgb=False``); ImageNet's statistics for a model without one."""
    pre = getattr(model, 'data_preprocessor', None)
    mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
    if mean is None or std is None:
        mean, std = images.new_tensor(IMAGENET_MEAN), images.new_tensor(IMAGENET_STD)
    elif not getattr(pre, 'bgr_to_rgb', True):
        images = images.flip(1)
    return (images - mean.to(images).view(1, 3, 1, 1)) / std.to(images).view(1, 3, 1, 1)


def _random_box(rng: np.random.RandomState, height: int, width: int,
                spec: ViewSpec) -> List[int]:
    """The spec's crop distribution drawn from ``rng`` (the protocol's own generator)."""
    box, _ = draw_crop_box(height, width, spec.crop.scale, spec.crop.ratio, NumpyDraws(rng),
                           spec.crop.max_attempts, x_first=True)
    return [int(v) for v in box]


def _visible_share(box1, flip1, box2, flip2, cells: int) -> float:
    b1, b2 = torch.tensor([box1], dtype=torch.float32), torch.tensor([box2], dtype=torch.float32)
    centres = cell_centers(b1, torch.tensor([flip1]), (cells, cells))
    _, inside = project_points(centres, b2, torch.tensor([flip2]))
    return float(inside.float().mean())


def _jitter(view: Tensor, rng: np.random.RandomState, strengths: Sequence[float]) -> Tensor:
    """Brightness, contrast and saturation of an RGB ``(3, h, w)`` view, factors in
    torchvision's ranges, in a random order (the ops of :mod:`dense_ssl_mm.image_ops.color`)."""
    ranges = jitter_ranges(strengths[:3])
    x = view[None]
    for k in rng.permutation(3):
        factor = x.new_tensor([float(rng.uniform(*ranges[k]))])
        x = ADJUST[k](x, factor, bgr=False)
    return x[0]


def make_view_pair(image: Tensor, size: int, seed: int, spec: Optional[ViewSpec] = None,
                   min_visible: float = 0.25, cells: int = 7) -> Tuple[Tensor, Tensor, Tensor]:
    """Two views of one image, each a random resized crop (antialiased), a random horizontal
    flip and photometric jitter as ``spec`` describes (default :func:`eval_view_spec`; its
    crop size is replaced by ``size``), drawn from ``seed`` alone (same seed, same views).

    The second crop is redrawn (up to 20 times) until at least ``min_visible`` of the first
    view's cell centres (on a ``cells x cells`` grid) lie inside it.

    Args:
        image: ``(3, H, W)`` float RGB in [0, 255].
        size: Side of the square views.

    Returns:
        views ``(2, 3, size, size)`` in [0, 255], boxes ``(2, 4)`` (original-image pixels,
        x2/y2 exclusive), flips ``(2,)`` bool.
    """
    spec = spec or eval_view_spec()
    rng = np.random.RandomState(seed % (2**32))
    height, width = image.shape[-2:]
    box1, flip1 = _random_box(rng, height, width, spec), bool(rng.rand() < spec.flip)
    for _ in range(20):
        box2, flip2 = _random_box(rng, height, width, spec), bool(rng.rand() < spec.flip)
        if _visible_share(box1, flip1, box2, flip2, cells) >= min_visible:
            break
    views = []
    for (x1, y1, x2, y2), flip in ((box1, flip1), (box2, flip2)):
        crop = image[None, :, y1:y2, x1:x2]
        view = resize_antialiased(crop, (size, size))[0]
        if flip:
            view = view.flip(-1)
        for op in spec.ops:
            view = _jitter(view, rng, op.strengths)
        views.append(view)
    boxes = torch.tensor([box1, box2], dtype=torch.float32)
    return torch.stack(views), boxes, torch.tensor([flip1, flip2])


def make_view_batch(images: Sequence[Tensor], size: int, seed: int, start: int = 0, **kwargs
                    ) -> Tuple[Tensor, Tensor, Tensor]:
    """:func:`make_view_pair` for image ``start + k`` with seed ``seed * 1_000_003 + start + k``
    (the views of an image do not depend on how the set is split into batches).

    Returns:
        views ``(2, N, 3, size, size)``, boxes ``(2, N, 4)``, flips ``(2, N)``.
    """
    pairs = [make_view_pair(img, size, seed * 1_000_003 + start + k, **kwargs)
             for k, img in enumerate(images)]
    views, boxes, flips = (torch.stack(parts, 1) for parts in zip(*pairs))
    return views, boxes, flips
