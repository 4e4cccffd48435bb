"""What a matcher returns for one direction (query view a -> key view b).

Two forms cover the methods so far; a new form (DetCon's pooled masks, say) is a new type
beside these and a loss that reads it.
"""
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.structures import ViewData

Size = Tuple[int, int]
Direction = Tuple[int, int]


class MatchContext(NamedTuple):
    """Everything a matcher may read; each matcher reads only what it needs.

    Attributes:
        geometry: Batched :class:`ViewData` (``boxes`` ``(V, N, 4)``, ``flips`` ``(V, N)``,
            ``image_sizes`` ``(N, 2)``, any per-view datum).
        pairs: The ``(query view, key view)`` pairs to match, in order.
        query_sizes: ``(H, W)`` cells of each view's query map (None where a view has none).
        key_sizes: The same for the key maps.
        features: One map per view that a feature matcher compares (DenseCL), or None.
        generator: Drives a sampling matcher (VADeR); None: torch's global generator.
    """
    geometry: ViewData
    pairs: Tuple[Direction, ...]
    query_sizes: Tuple[Optional[Size], ...]
    key_sizes: Tuple[Optional[Size], ...]
    features: Optional[Sequence[Optional[Tensor]]] = None
    generator: Optional[torch.Generator] = None


class Matches(NamedTuple):
    """What a head matched: ``matches[i]`` belongs to ``pairs[i]`` (query view, key view)."""
    pairs: Tuple[Direction, ...]
    matches: List[Any]


class CellMask(NamedTuple):
    """Every query cell against every key cell: ``mask`` bool ``(N, HWa, HWb)``, True where
    the pair is a positive (PixPro, PixContrast)."""
    mask: Tensor


class PointPairs(NamedTuple):
    """``P`` matched points per image (VADeR, DenseCL, and MoCo with one cell per view).

    Attributes:
        query_index: ``(N, P)`` long, flat cell index into the query map.
        valid: ``(N, P)`` bool, False for padding slots (an image with nothing to match).
        key_index: ``(N, P)`` long, flat cell index into the key map, or None ...
        key_grid: ... ``(N, P, 2)`` ``grid_sample`` coordinates (``align_corners=False``) of
            sub-pixel key locations, bilinearly sampled.
    """
    query_index: Tensor
    valid: Tensor
    key_index: Optional[Tensor] = None
    key_grid: Optional[Tensor] = None


class TwoWayPairs(NamedTuple):
    """Matches of one view pair in both directions (VICRegL's local criterion): ``forward``
    indexes query cells of view a and key cells of view b, ``backward`` the reverse (its
    ``query_index`` into view b, ``key_index`` into view a)."""
    forward: PointPairs
    backward: PointPairs


def gather_cells(maps: Tensor, index: Tensor) -> Tensor:
    """``(N, C, H, W)`` maps, ``(N, P)`` flat indices -> ``(N * P, C)`` vectors."""
    n, c = maps.shape[:2]
    picked = maps.flatten(2).gather(2, index[:, None].expand(n, c, -1))  # [N, C, P]
    return picked.transpose(1, 2).reshape(-1, c)


def gather_keys(key_map: Tensor, pairs: PointPairs) -> Tensor:
    """The key vectors of ``pairs`` from a ``(N, C, H, W)`` map: ``(N * P, C)``."""
    if pairs.key_index is not None:
        return gather_cells(key_map, pairs.key_index)
    n, c = key_map.shape[:2]
    # bilinear, sub-pixel; points in the outer half cell take the border cells
    keys = F.grid_sample(key_map, pairs.key_grid[:, :, None].to(key_map.dtype), mode='bilinear',
                         padding_mode='border', align_corners=False)[..., 0]  # [N, C, P]
    return keys.transpose(1, 2).reshape(-1, c)


def gather_pairs(query_map: Tensor, key_map: Tensor,
                 pairs: PointPairs) -> Tuple[Tensor, Tensor, Tensor]:
    """``(q, k, valid)``: ``(N * P, C)`` query and key vectors and ``(N * P,)`` validity."""
    return gather_cells(query_map, pairs.query_index), gather_keys(key_map, pairs), \
        pairs.valid.reshape(-1)
