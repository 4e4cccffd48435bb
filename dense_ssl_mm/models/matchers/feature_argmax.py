"""DenseCL's positives: for each query cell, the most similar key cell by features."""
from typing import List

import torch
import torch.nn.functional as F

from dense_ssl_mm.registry import TASK_UTILS
from .matches import MatchContext, PointPairs


@TASK_UTILS.register_module()
class FeatureArgmax:
    """Cell ``i`` of view a is matched to ``argmax_j cos(f_a[i], f_b[j])`` of view b, with
    ``f`` the matching features the algorithm passes (DenseCL: the backbone's C5 of the query
    view from the online encoder and of the key view from the momentum encoder; Wang et al.,
    CVPR 2021, eq. 3). No geometry is used. Ties go to the lowest index (``torch.max``).
    """

    def __call__(self, ctx: MatchContext) -> List[PointPairs]:
        if ctx.features is None:
            raise ValueError('FeatureArgmax needs matching features (one map per view)')
        out = []
        for a, b in ctx.pairs:
            fa, fb = ctx.features[a], ctx.features[b]
            if tuple(fa.shape[-2:]) != tuple(ctx.query_sizes[a]) or \
                    tuple(fb.shape[-2:]) != tuple(ctx.key_sizes[b]):
                raise ValueError(f'matching features of {tuple(fa.shape[-2:])} and '
                                 f'{tuple(fb.shape[-2:])} cells do not cover the query and key '
                                 f'maps of {tuple(ctx.query_sizes[a])} and '
                                 f'{tuple(ctx.key_sizes[b])}')
            qa = F.normalize(fa.flatten(2), dim=1)  # [N, C, HWa]
            kb = F.normalize(fb.flatten(2), dim=1)  # [N, C, HWb]
            key_index = torch.bmm(qa.transpose(1, 2), kb).argmax(-1)  # [N, HWa]
            query_index = torch.arange(qa.shape[-1], device=qa.device).expand_as(key_index)
            valid = torch.ones_like(key_index, dtype=torch.bool)
            out.append(PointPairs(query_index=query_index, valid=valid, key_index=key_index))
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
