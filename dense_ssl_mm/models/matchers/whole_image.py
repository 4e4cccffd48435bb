"""MoCo's positive: the other view of the same image, one vector per view."""
from typing import List

import torch

from dense_ssl_mm.registry import TASK_UTILS
from .matches import MatchContext, PointPairs


@TASK_UTILS.register_module()
class WholeImage:
    """The query and key are ``(N, C, 1, 1)`` maps (one pooled vector per view); each image's
    query is matched to its own key (He et al., CVPR 2020; MoCo v2: Chen et al., 2020). With
    this matcher a global method trains through the same head as the dense ones.
    """

    def __call__(self, ctx: MatchContext) -> List[PointPairs]:
        out = []
        for a, b in ctx.pairs:
            if tuple(ctx.query_sizes[a]) != (1, 1) or tuple(ctx.key_sizes[b]) != (1, 1):
                raise ValueError(f'WholeImage matches (N, C, 1, 1) maps, got '
                                 f'{tuple(ctx.query_sizes[a])} and {tuple(ctx.key_sizes[b])} cells')
            n = ctx.geometry.boxes.shape[1]
            index = torch.zeros(n, 1, dtype=torch.long, device=ctx.geometry.boxes.device)
            out.append(PointPairs(query_index=index, valid=torch.ones_like(index, dtype=bool),
                                  key_index=index))
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
