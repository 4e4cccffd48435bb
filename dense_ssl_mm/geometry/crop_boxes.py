"""The random-resized-crop box draw (torchvision's ``RandomResizedCrop``), written once.

The algorithm: for ``attempts`` tries, draw an area share ``s ~ U(scale)`` and a log-uniform
aspect ratio ``a = exp(U(log ratio))``; the candidate is ``w = round(sqrt(s * H * W * a))``
wide and ``h = round(sqrt(s * H * W / a))`` high and is accepted when ``0 < w <= W`` and
``0 < h <= H`` (and, with overlap constraints, when it shares enough pixels with given
boxes); its top-left corner is uniform over the positions that keep it inside the image.
When no try is accepted, the fallback is the largest central box with its aspect ratio
clamped into ``ratio`` (with overlap constraints: the constraint boxes' intersection).

Boxes are ``(x1, y1, x2, y2)`` in integer pixels, x2 and y2 exclusive.

Two back ends of the one algorithm, sharing :func:`candidate_sides` and :func:`central_box`:

- :func:`draw_crop_box`: one box, drawn try by try from a scalar source of random numbers,
  :class:`NumpyDraws` (numpy's global generator or a ``RandomState``) or
  :class:`TorchDraws` (a ``torch.Generator``); the CPU view transforms and the evaluation.
- :func:`draw_crop_boxes`: a batch of boxes at once on any device, every try drawn up front
  from a ``torch.Generator`` (no loop, no host sync); the device views.

Each back end consumes its generator as its callers always have, so seeded draws keep their
values: per try ``uniform(scale)``, ``uniform(log ratio)``, then (for a candidate that fits)
the corner, ``y`` before ``x`` unless ``x_first``.
"""
import math
import numbers
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from dense_ssl_mm.utils.draws import uniform

Box = Tuple[float, float, float, float]
Constraints = Optional[Union[Tuple[Box, float], Sequence[Tuple[Box, float]]]]


def candidate_sides(target, aspect):
    """``(w, h)`` of a candidate of area ``target`` and aspect ratio ``aspect`` (w / h).

    Args:
        target: Area in pixels, a float or a tensor.
        aspect: Aspect ratio, of the same kind and shape.

    Returns:
        ``(round(sqrt(target * aspect)), round(sqrt(target / aspect)))``: ints for floats
        (Python's round, half to even), rounded tensors for tensors (also half to even).
    """
    if isinstance(target, Tensor):
        return torch.round(torch.sqrt(target * aspect)), torch.round(torch.sqrt(target / aspect))
    return int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))


def central_box(height, width, ratio: Tuple[float, float]):
    """torchvision's fallback: the largest central box with its aspect ratio clamped into
    ``ratio``.

    Args:
        height, width: Image size, numbers or ``(M,)`` float tensors.
        ratio: ``(min, max)`` aspect ratio (width / height).

    Returns:
        ``(x1, y1, x2, y2)``: floats for numbers, ``(M, 4)`` for tensors.
    """
    if isinstance(height, Tensor):
        in_ratio = width / height
        w = torch.where(in_ratio > ratio[1], torch.round(height * ratio[1]), width)
        h = torch.where(in_ratio < ratio[0], torch.round(width / ratio[0]), height)
        x = torch.div(width - w, 2, rounding_mode='floor')
        y = torch.div(height - h, 2, rounding_mode='floor')
        return torch.stack([x, y, x + w, y + h], -1)
    in_ratio = width / height
    w = round(height * ratio[1]) if in_ratio > ratio[1] else width
    h = round(width / ratio[0]) if in_ratio < ratio[0] else height
    x, y = (width - w) // 2, (height - h) // 2
    return (float(x), float(y), float(x + w), float(y + h))


def box_overlap_area(a: Box, b: Box) -> float:
    """Area of the intersection of two ``(x1, y1, x2, y2)`` boxes, 0 if disjoint."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def overlap_constraints(overlap: Constraints) -> List[Tuple[Box, float]]:
    """``None``, one ``(box, min_area)`` or a list of them -> a list of them (floats)."""
    if overlap is None:
        return []
    if len(overlap) == 2 and isinstance(overlap[1], numbers.Real):
        return [(tuple(float(v) for v in overlap[0]), float(overlap[1]))]
    return [(tuple(float(v) for v in b), float(m)) for b, m in overlap]


def overlap_fallback(constraints: Sequence[Tuple[Box, float]]) -> Box:
    """The intersection of the constraint boxes if it shares enough with each, else the
    first box (which may then miss the others' minimum)."""
    boxes = np.array([b for b, _ in constraints])
    inter = tuple(float(v) for v in (*boxes[:, :2].max(0), *boxes[:, 2:].min(0)))
    if inter[2] > inter[0] and inter[3] > inter[1] and \
            all(box_overlap_area(inter, b) >= m for b, m in constraints):
        return inter
    return constraints[0][0]


class NumpyDraws:
    """Scalar random numbers from numpy: the global generator (``np.random``, default) or a
    ``np.random.RandomState``."""

    def __init__(self, rng=np.random) -> None:
        self.rng = rng

    def uniform(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def randint(self, high: int) -> int:
        """Uniform in ``[0, high)``."""
        return self.rng.randint(0, high)


class TorchDraws:
    """Scalar random numbers from a ``torch.Generator`` on the CPU (uniforms in float32, as
    ``Tensor.uniform_`` draws them)."""

    def __init__(self, generator: Optional[torch.Generator] = None) -> None:
        self.generator = generator

    def uniform(self, low: float, high: float) -> float:
        return float(torch.empty(1).uniform_(low, high, generator=self.generator))

    def randint(self, high: int) -> int:
        """Uniform in ``[0, high)``."""
        return int(torch.randint(0, high, (1, ), generator=self.generator))


def draw_crop_box(height: int, width: int, scale: Tuple[float, float],
                  ratio: Tuple[float, float], draws: Union[NumpyDraws, TorchDraws],
                  attempts: int = 10, overlap: Constraints = None,
                  x_first: bool = False) -> Tuple[Box, bool]:
    """One crop box by the module's algorithm, and whether it is the fallback.

    Args:
        height, width: Image size in pixels.
        scale: ``(min, max)`` area share.
        ratio: ``(min, max)`` aspect ratio (width / height).
        draws: The source of random numbers (:class:`NumpyDraws` or :class:`TorchDraws`).
        attempts: Tries before the fallback.
        overlap: One ``(box, min_area)`` or a list of them: a candidate must share at least
            ``min_area`` pixels with every ``box``; the fallback is then
            :func:`overlap_fallback` (one box: the box itself).
        x_first: Draw the corner's ``x`` before its ``y`` (the evaluation's view pairs).

    Returns:
        ``((x1, y1, x2, y2), fallback)``, the box in float-valued integer pixels.
    """
    constraints = overlap_constraints(overlap)
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(attempts):
        target = area * draws.uniform(*scale)
        aspect = math.exp(draws.uniform(*log_ratio))
        w, h = candidate_sides(target, aspect)
        if 0 < w <= width and 0 < h <= height:
            if x_first:
                x = draws.randint(width - w + 1)
                y = draws.randint(height - h + 1)
            else:
                y = draws.randint(height - h + 1)
                x = draws.randint(width - w + 1)
            box = (float(x), float(y), float(x + w), float(y + h))
            if all(box_overlap_area(box, b) >= m for b, m in constraints):
                return box, False
    if constraints:
        return overlap_fallback(constraints), True
    return central_box(height, width, ratio), True


def draw_crop_boxes(sizes: Tensor, scale: Tuple[float, float], ratio: Tuple[float, float],
                    attempts: int, generator: Optional[torch.Generator],
                    overlap: Optional[Tuple[Tensor, Union[float, Tensor]]] = None
                    ) -> Tuple[Tensor, Tensor]:
    """The module's algorithm for every image at once: all ``attempts`` tries drawn up front,
    the first accepted one kept, else the fallback.

    Args:
        sizes: ``(M, 2)`` image ``(H, W)``, float.
        scale, ratio: As :func:`draw_crop_box`.
        attempts: Tries per image.
        generator: A ``torch.Generator`` on ``sizes``' device.
        overlap: ``(boxes (M, 4), min_area)`` (a number or ``(M, 1)``): candidates must
            share at least ``min_area`` pixels with these boxes, and the fallback is the box
            itself (as :func:`draw_crop_box` with one constraint).

    Returns:
        ``(M, 4)`` integer-valued boxes ``(x1, y1, x2, y2)`` and ``(M,)`` fallback flags.
    """
    m, device = sizes.shape[0], sizes.device
    height, width = sizes[:, :1], sizes[:, 1:]  # [M, 1]
    area = height * width * uniform(scale[0], scale[1], (m, attempts), generator, device)
    aspect = torch.exp(uniform(math.log(ratio[0]), math.log(ratio[1]), (m, attempts),
                               generator, device))
    w, h = candidate_sides(area, aspect)  # [M, attempts]
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    u = torch.rand(m, attempts, 2, generator=generator, device=device)
    x = torch.floor(u[..., 0] * (width - w + 1))  # randint(0, W - w) inclusive
    y = torch.floor(u[..., 1] * (height - h + 1))
    if overlap is not None:
        other, min_area = overlap
        shared_w = torch.minimum(x + w, other[:, 2:3]) - torch.maximum(x, other[:, 0:1])
        shared_h = torch.minimum(y + h, other[:, 3:4]) - torch.maximum(y, other[:, 1:2])
        fits &= shared_w.clamp(min=0) * shared_h.clamp(min=0) >= min_area
    first = fits.float().argmax(1, keepdim=True)  # index of the first accepted try

    def pick(t: Tensor) -> Tensor:
        return t.gather(1, first)[:, 0]

    found = fits.any(1)
    x1, y1 = pick(x), pick(y)
    drawn = torch.stack([x1, y1, x1 + pick(w), y1 + pick(h)], 1)
    fallback = central_box(height[:, 0], width[:, 0], ratio)
    if overlap is not None:
        fallback = overlap[0].to(drawn.dtype)
    return torch.where(found[:, None], drawn, fallback), ~found


__all__ = [
    'Box', 'NumpyDraws', 'TorchDraws', 'box_overlap_area', 'candidate_sides', 'central_box',
    'draw_crop_box', 'draw_crop_boxes', 'overlap_constraints', 'overlap_fallback'
]
