"""Correspondence PCK: does a feature find its own image point in another view?

For every cell of view 1 whose centre is visible in view 2, the nearest neighbour (cosine)
among view 2's cells is compared with the true location of that image point in view 2 (from
the crop/flip geometry, through ``geometry/correspondence.py``). Errors are measured in
view-2 cells; PCK@k is the share of matches within k cells.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.geometry.correspondence import cell_centers, project_points
from dense_ssl_mm.utils.errors import BadInputError


def true_locations(boxes1: Tensor, flips1: Tensor, size1: Tuple[int, int], boxes2: Tensor,
                   flips2: Tensor, size2: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
    """Where each cell centre of view 1 lies in view 2, in view-2 cell units.

    Returns:
        ``(N, HW1, 2)`` continuous ``(col, row)`` (cell ``(i, j)`` has centre ``(j, i)``) and
        ``(N, HW1)`` bool visibility.
    """
    grid, inside = project_points(cell_centers(boxes1, flips1, size1), boxes2, flips2)
    height, width = size2
    col = (grid[..., 0] + 1) / 2 * width - 0.5
    row = (grid[..., 1] + 1) / 2 * height - 0.5
    return torch.stack((col, row), -1), inside


def nearest_cells(feat1: Tensor, feat2: Tensor, chunk: int = 4096) -> Tensor:
    """``(N, C, H1, W1)``, ``(N, C, H2, W2)`` -> ``(N, H1*W1)`` index of the most similar
    (cosine) cell of view 2 for every cell of view 1, in chunks of view-1 cells (memory
    ``N * chunk * H2 * W2``, not ``(H1 W1)(H2 W2)``, for stride-4 maps)."""
    q = F.normalize(feat1.flatten(2), dim=1).transpose(1, 2)  # [N, HW1, C]
    k = F.normalize(feat2.flatten(2), dim=1)  # [N, C, HW2]
    return torch.cat([torch.bmm(q[:, s:s + chunk], k).argmax(-1)
                      for s in range(0, q.shape[1], chunk)], 1)


def chance_within(truth: Tensor, size: Tuple[int, int], radius: int) -> Tensor:
    """Share of the cells of an ``H x W`` map whose centre lies within ``radius`` cells of
    each point of ``truth`` ``(..., 2)`` (col, row): the PCK of a uniformly random match.

    Counted row by row (``2 * radius + 1`` rows can be in reach), so memory is
    ``O(points * radius)``, not ``O(points * H * W)``.
    """
    height, width = size
    col, row = truth[..., 0:1], truth[..., 1:2]
    rows = torch.round(row) + torch.arange(-radius - 1, radius + 2, device=truth.device,
                                           dtype=truth.dtype)  # candidate rows, [..., R]
    half = (radius ** 2 - (rows - row) ** 2).clamp(min=0).sqrt()  # half chord per row
    reach = (radius ** 2 - (rows - row) ** 2) >= 0
    lo = torch.ceil(col - half).clamp(min=0)
    hi = torch.floor(col + half).clamp(max=width - 1)
    inside = reach & (rows >= 0) & (rows <= height - 1)
    count = ((hi - lo + 1).clamp(min=0) * inside).sum(-1)
    return count / (height * width)


def match_errors(feat1: Tensor, feat2: Tensor, boxes: Tensor, flips: Tensor,
                 index: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Per-cell matching error of view 1 -> view 2.

    Args:
        feat1, feat2: ``(N, C, H, W)`` features of the two views.
        boxes: ``(2, N, 4)``; flips: ``(2, N)``.
        index: :func:`nearest_cells` of the two maps, if already computed.

    Returns:
        ``error`` ``(N, HW1)`` distance in view-2 cells between the matched cell and the true
        location; ``visible`` ``(N, HW1)`` bool; ``chance`` ``(N, HW1, 2)`` share of view-2
        cells within 1 and 2 cells of the true location (PCK of a uniformly random match).
    """
    size1, size2 = tuple(feat1.shape[-2:]), tuple(feat2.shape[-2:])
    truth, visible = true_locations(boxes[0], flips[0], size1, boxes[1], flips[1], size2)
    if index is None:
        index = nearest_cells(feat1, feat2)
    width = size2[1]
    matched = torch.stack((index % width, index // width), -1).to(truth.dtype)
    error = (matched - truth).norm(dim=-1)
    chance = torch.stack([chance_within(truth, size2, k) for k in (1, 2)], -1)
    return error, visible, chance


def summarize(error: Tensor, visible: Tensor, chance: Tensor) -> Dict[str, float]:
    """``corr/pck@1``, ``corr/pck@2``, ``corr/mean_err`` (view-2 cells), the chance levels
    and the number of matched cells, over all visible cells."""
    e = error[visible]
    c = chance[visible]
    if e.numel() == 0:
        raise BadInputError('no cell of view 1 is visible in view 2 in any image pair')
    return {'corr/pck@1': float((e <= 1).float().mean()),
            'corr/pck@2': float((e <= 2).float().mean()),
            'corr/mean_err': float(e.mean()),
            'corr/pck@1_chance': float(c[:, 0].mean()),
            'corr/pck@2_chance': float(c[:, 1].mean()),
            'corr/num_matches': int(e.numel())}
