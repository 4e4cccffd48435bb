"""PixPro's positives: cells whose centres lie close in the original image."""
from typing import List, Sequence

import torch

from dense_ssl_mm.geometry.correspondence import positive_mask, reference_boxes
from dense_ssl_mm.registry import TASK_UTILS
from dense_ssl_mm.utils.validation import check_choice, check_number
from .matches import CellMask, MatchContext

DISTANCES = ('pixel', 'reference')


@TASK_UTILS.register_module()
class GeometricPositives:
    """Cell ``i`` of view a and cell ``j`` of view b are a positive when their centres, in
    original-image coordinates, are closer than ``pos_threshold`` times the larger bin
    diagonal of the two maps (Xie et al., CVPR 2021, eq. 1). No parameters, no features.
    A view paired with itself (maps of one size) gives the identity: each cell is the
    positive of itself only (the threshold rule would add neighbours across a short bin side).

    Args:
        pos_threshold: T (0.7 in the paper).
        distance: ``'pixel'`` (default; isotropic, in original-image pixels, the paper's
            definition) or ``'reference'`` (the official code's per-axis normalised units,
            x / (W - 1) and y / (H - 1): on non-square images the positives differ; use it
            to reproduce published numbers exactly). ``'reference'`` needs the geometry's
            ``image_sizes``, which :class:`ViewDataPreprocessor` provides.
    """

    def __init__(self, pos_threshold: float = 0.7, distance: str = 'pixel') -> None:
        owner = 'GeometricPositives'
        self.pos_threshold = check_number(owner, 'pos_threshold', pos_threshold, 0,
                                          low_open=True)
        self.distance = check_choice(owner, 'distance', distance, DISTANCES)

    def __call__(self, ctx: MatchContext) -> List[CellMask]:
        """One ``(N, HWa, HWb)`` mask per direction; the 1 -> 2 mask is computed once and
        transposed for 2 -> 1 where the two directions are both asked for."""
        boxes, flips = ctx.geometry.boxes, ctx.geometry.flips
        if self.distance == 'reference':
            sizes = ctx.geometry.get('image_sizes')
            if sizes is None:
                raise ValueError("GeometricPositives(distance='reference') needs the original "
                                 'image sizes (geometry.image_sizes, from ori_shape)')
            boxes = torch.stack([reference_boxes(b, sizes) for b in boxes])
        masks = {}
        for a, b in ctx.pairs:
            if ctx.query_sizes[a] != ctx.key_sizes[b]:
                raise ValueError(f'query maps of {ctx.query_sizes[a]} cells and key maps of '
                                 f'{ctx.key_sizes[b]} cells must cover the same cells')
            if a == b:  # a view with itself: the identity geometry, every cell to itself
                n, cells = boxes.shape[1], ctx.query_sizes[a][0] * ctx.query_sizes[a][1]
                eye = torch.eye(cells, dtype=torch.bool, device=boxes.device)
                masks[(a, b)] = eye.expand(n, cells, cells)
                continue
            if (b, a) in masks and ctx.query_sizes[b] == ctx.key_sizes[a] == ctx.query_sizes[a]:
                masks[(a, b)] = masks[(b, a)].transpose(1, 2)
                continue
            masks[(a, b)] = positive_mask(boxes[a], flips[a], ctx.query_sizes[a], boxes[b],
                                          flips[b], ctx.key_sizes[b], self.pos_threshold)
        return [CellMask(masks[d]) for d in ctx.pairs]

    @staticmethod
    def statistics(matches: Sequence[CellMask]) -> dict:
        """Logged: ``pos_ratio``, the share of cell pairs that are positive (first direction)."""
        return {'pos_ratio': matches[0].mask.float().mean().detach()}

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(pos_threshold={self.pos_threshold}, '
                f'distance={self.distance!r})')
