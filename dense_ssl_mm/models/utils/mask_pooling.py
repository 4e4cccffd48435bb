"""DetCon's mask pooling (Hénaff et al., ICCV 2021): segment ids on the feature grid, ids
sampled per view, features averaged over each sampled segment's cells.

All batched over images; no loop over images, masks or cells, no host sync.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def _runs(sorted_ids: Tensor) -> Tensor:
    """True where a sorted row starts a new value."""
    new = torch.ones_like(sorted_ids, dtype=torch.bool)
    new[..., 1:] = sorted_ids[..., 1:] != sorted_ids[..., :-1]
    return new


def cell_segments(masks: Tensor, size: Tuple[int, int]) -> Tensor:
    """Each cell's segment on an ``H x W`` grid: the id covering most of the cell's pixels,
    the smallest on a tie (one-hot the ids, average-pool, argmax, as DetCon).

    Args:
        masks: ``(N, h, w)`` integer ids of a view (``h``, ``w`` multiples of ``H``, ``W``).
        size: ``(H, W)`` of the feature map.

    Returns:
        ``(N, H * W)`` long ids, cells in row-major order.
    """
    n, h, w = masks.shape
    rows, cols = size
    if h % rows or w % cols:
        raise ValueError(f'a {h}x{w} mask does not split into {rows}x{cols} equal cells')
    cells = masks.long().view(n, rows, h // rows, cols, w // cols).permute(0, 1, 3, 2, 4)
    ids = cells.reshape(n, rows * cols, -1).sort(-1).values  # [N, L, P]
    run = _runs(ids).long().cumsum(-1) - 1  # run index of each pixel
    counts = torch.zeros_like(ids).scatter_add_(-1, run, torch.ones_like(ids))
    best = counts.argmax(-1, keepdim=True)  # first longest run: the smallest such id
    first = (run == best).long().argmax(-1, keepdim=True)
    return ids.gather(-1, first).squeeze(-1)


def sample_segments(cell_ids: Tensor, num: int,
                    generator: Optional[torch.Generator] = None) -> Tensor:
    """``num`` ids per image drawn uniformly, with replacement, among the segments present
    on the grid (each present segment equally likely, whatever its area).

    Args:
        cell_ids: ``(N, L)`` ids of the cells (:func:`cell_segments`).
        num: Ids drawn per image (DetCon: 16).
        generator: Drives the draw (default: torch's global generator).

    Returns:
        ``(N, num)`` long ids, each present in its image's cells.
    """
    ids = cell_ids.sort(-1).values
    new = _runs(ids)
    count = new.sum(-1, keepdim=True)  # distinct segments per image, >= 1
    front = torch.argsort((~new).to(torch.uint8), dim=-1, stable=True)  # distinct ids first
    distinct = ids.gather(-1, front)
    u = torch.rand(ids.shape[0], num, generator=generator, device=ids.device)
    pick = torch.minimum((u * count).long(), count - 1)
    return distinct.gather(-1, pick)


def pool_segments(feats: Tensor, cell_ids: Tensor, ids: Tensor) -> Tensor:
    """Mean feature of each sampled segment's cells.

    Args:
        feats: ``(N, C, H, W)`` feature map.
        cell_ids: ``(N, H * W)`` the cells' segments.
        ids: ``(N, K)`` sampled segment ids (each present in ``cell_ids``).

    Returns:
        ``(N, K, C)`` pooled features.
    """
    member = (ids[:, :, None] == cell_ids[:, None, :]).to(feats.dtype)  # [N, K, L]
    member = member / member.sum(-1, keepdim=True).clamp(min=1)
    return torch.bmm(member, feats.flatten(2).transpose(1, 2))
