"""VICRegL's local matches: each cell's nearest cell of the other view, by position in the
original image or by embedding, keeping the closest pairs (Bardes et al., NeurIPS 2022)."""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from dense_ssl_mm.geometry.correspondence import cell_centers
from dense_ssl_mm.registry import TASK_UTILS
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_number
from .matches import MatchContext, PointPairs, TwoWayPairs


def select_nearest(distances: Tensor, num_matches: Optional[int]) -> PointPairs:
    """Each query cell's nearest key cell; keep the ``num_matches`` query cells whose nearest
    key is closest (all cells with None), in cell order.

    Ties: the nearest key is the lowest index (``argmin``); among query cells at equal
    distance the lower index is kept (stable sort). The official code keeps the kept cells in
    cell order too (lightly sorts them by distance, which changes the per-slot statistics).

    Args:
        distances: ``(N, La, Lb)`` distances of query cells to key cells.
        num_matches: How many query cells to keep per image, or None for all ``La``.

    Returns:
        :class:`PointPairs` with ``(N, P)`` ``query_index`` and ``key_index``.
    """
    nearest, key_index = distances.min(2)  # [N, La]
    n, cells = nearest.shape
    if num_matches is None or num_matches >= cells:
        query_index = torch.arange(cells, device=distances.device).expand(n, cells)
    else:
        closest = torch.argsort(nearest, dim=1, stable=True)[:, :num_matches]
        query_index = closest.sort(dim=1).values  # back to cell order
        key_index = key_index.gather(1, query_index)
    return PointPairs(query_index=query_index, valid=torch.ones_like(query_index, dtype=bool),
                      key_index=key_index)


def _check_counts(owner: str, num_matches) -> Tuple[Optional[int], Optional[int]]:
    if num_matches is None:
        return None, None
    if len(num_matches) != 2:
        raise BadInputError(f'{owner}: num_matches must be (forward, backward) or None, got '
                            f'{num_matches}')
    return tuple(None if k is None else check_number(owner, 'num_matches', k, 1, integer=True)
                 for k in num_matches)


@TASK_UTILS.register_module()
class LocationNearest:
    """Cells matched by position: the distance of two cells is the distance of their centres
    in original-image pixels (``geometry/correspondence.py``). Per view pair (a, b):
    a -> b keeps the ``num_matches[0]`` closest pairs, b -> a the ``num_matches[1]``.

    Args:
        num_matches: ``(forward, backward)`` pairs kept; VICRegL's (20, 4).
        mirror_flipped: True (default): a flipped view's cell j shows column W - 1 - j, as
            everywhere in this project (and in lightly). False reproduces the official
            VICRegL default (``--no-flip-grid 1``), whose grid ignores the flip: there a
            flipped view's cells are matched to the mirror-image positions.
    """

    def __init__(self, num_matches: Tuple[int, int] = (20, 4),
                 mirror_flipped: bool = True) -> None:
        self.num_matches = _check_counts('LocationNearest', num_matches)
        self.mirror_flipped = bool(mirror_flipped)

    def centers(self, ctx: MatchContext, view: int, size) -> Tensor:
        flips = ctx.geometry.flips[view]
        if not self.mirror_flipped:
            flips = torch.zeros_like(flips)
        return cell_centers(ctx.geometry.boxes[view], flips, size)  # [N, HW, 2]

    def __call__(self, ctx: MatchContext) -> List[TwoWayPairs]:
        out = []
        for a, b in ctx.pairs:
            ca = self.centers(ctx, a, ctx.query_sizes[a])
            cb = self.centers(ctx, b, ctx.key_sizes[b])
            distances = torch.cdist(ca.double(), cb.double())  # exact for pixel coordinates
            out.append(TwoWayPairs(select_nearest(distances, self.num_matches[0]),
                                   select_nearest(distances.transpose(1, 2),
                                                  self.num_matches[1])))
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_matches={self.num_matches}, '
                f'mirror_flipped={self.mirror_flipped})')


@TASK_UTILS.register_module()
class FeatureNearest:
    """Cells matched by embedding: each cell's L2-nearest cell of the other view among the
    matching features the algorithm passes (VICRegL: the local embeddings themselves).

    Args:
        num_matches: ``(forward, backward)`` pairs kept, or None to keep every cell (the
            official default, ``--l2_all_matches 1``; lightly keeps (20, 4) here too).
    """

    def __init__(self, num_matches: Optional[Tuple[int, int]] = None) -> None:
        self.num_matches = _check_counts('FeatureNearest', num_matches)

    def __call__(self, ctx: MatchContext) -> List[TwoWayPairs]:
        if ctx.features is None:
            raise ValueError('FeatureNearest needs matching features (one map per view)')
        out = []
        with torch.no_grad():  # indices only: no gradient flows through the choice
            for a, b in ctx.pairs:
                fa = ctx.features[a].flatten(2).transpose(1, 2)  # [N, HWa, C]
                fb = ctx.features[b].flatten(2).transpose(1, 2)
                distances = torch.cdist(fa, fb, compute_mode='donot_use_mm_for_euclid_dist')
                out.append(TwoWayPairs(select_nearest(distances, self.num_matches[0]),
                                       select_nearest(distances.transpose(1, 2),
                                                      self.num_matches[1])))
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_matches={self.num_matches})'
