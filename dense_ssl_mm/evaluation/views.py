"""Fixed-seed view pairs with known geometry, for the label-free correspondence protocol."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.models.utils import cell_centers, project_points

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def to_tensor(img_rgb: np.ndarray) -> Tensor:
    """``(H, W, 3)`` uint8 RGB -> ``(3, H, W)`` float32 in [0, 255]."""
    return torch.from_numpy(np.ascontiguousarray(img_rgb)).permute(2, 0, 1).float()


def normalize(images: Tensor) -> Tensor:
    """``(N, 3, H, W)`` in [0, 255] -> ImageNet-normalised."""
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images - mean) / std


def _random_box(rng: np.random.RandomState, height: int, width: int,
                scale: Tuple[float, float]) -> List[float]:
    area = height * width
    for _ in range(10):
        target = area * rng.uniform(*scale)
        ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        w = int(round(np.sqrt(target * ratio)))
        h = int(round(np.sqrt(target / ratio)))
        if 0 < w <= width and 0 < h <= height:
            x, y = rng.randint(0, width - w + 1), rng.randint(0, height - h + 1)
            return [x, y, x + w, y + h]
    side = min(height, width)
    return [(width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2]


def _visible_share(box1, flip1, box2, flip2, cells: int) -> float:
    b1, b2 = torch.tensor([box1], dtype=torch.float32), torch.tensor([box2], dtype=torch.float32)
    centres = cell_centers(b1, torch.tensor([flip1]), (cells, cells))
    _, inside = project_points(centres, b2, torch.tensor([flip2]))
    return float(inside.float().mean())


def _jitter(view: Tensor, rng: np.random.RandomState, strength: float) -> Tensor:
    """Brightness, contrast and saturation factors in [1 - s, 1 + s], in a random order."""
    ops = ['brightness', 'contrast', 'saturation']
    for k in rng.permutation(3):
        factor = float(rng.uniform(1 - strength, 1 + strength))
        if ops[k] == 'brightness':
            view = view * factor
        elif ops[k] == 'contrast':
            view = (view - view.mean()) * factor + view.mean()
        else:
            grey = (view * view.new_tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0)
            view = (view - grey) * factor + grey
    return view.clamp(0, 255)


def make_view_pair(image: Tensor, size: int, seed: int, scale=(0.3, 1.0),
                   jitter: float = 0.3, min_visible: float = 0.25, cells: int = 7
                   ) -> Tuple[Tensor, Tensor, Tensor]:
    """Two views of one image, each a random resized crop (antialiased), a random horizontal
    flip and photometric jitter, drawn from ``seed`` alone (same seed, same views).

    The second crop is redrawn (up to 20 times) until at least ``min_visible`` of the first
    view's cell centres (on a ``cells x cells`` grid) lie inside it.

    Args:
        image: ``(3, H, W)`` float RGB in [0, 255].
        size: Side of the square views.

    Returns:
        views ``(2, 3, size, size)`` in [0, 255], boxes ``(2, 4)`` (original-image pixels,
        x2/y2 exclusive), flips ``(2,)`` bool.
    """
    rng = np.random.RandomState(seed % (2**32))
    height, width = image.shape[-2:]
    box1, flip1 = _random_box(rng, height, width, scale), bool(rng.rand() < 0.5)
    for _ in range(20):
        box2, flip2 = _random_box(rng, height, width, scale), bool(rng.rand() < 0.5)
        if _visible_share(box1, flip1, box2, flip2, cells) >= min_visible:
            break
    views = []
    for (x1, y1, x2, y2), flip in ((box1, flip1), (box2, flip2)):
        crop = image[None, :, y1:y2, x1:x2]
        view = F.interpolate(crop, size=(size, size), mode='bilinear', align_corners=False,
                             antialias=True)[0]
        if flip:
            view = view.flip(-1)
        views.append(_jitter(view, rng, jitter))
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
