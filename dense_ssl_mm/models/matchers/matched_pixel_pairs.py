"""VADeR's positives: sampled pixels of view a and the same image points in view b."""
from typing import List, Sequence

import torch

from dense_ssl_mm.geometry.correspondence import sample_matched_pairs
from dense_ssl_mm.registry import TASK_UTILS
from dense_ssl_mm.utils.validation import check_number
from .matches import MatchContext, PointPairs


@TASK_UTILS.register_module()
class MatchedPixelPairs:
    """Per image and direction, ``num_samples`` query cells drawn uniformly among those whose
    centre is visible in view b; the key is view b's map bilinearly sampled at the same image
    point (Pinheiro et al., NeurIPS 2020, sec. 3).

    Args:
        num_samples: P, matched pairs per image and direction.
    """

    def __init__(self, num_samples: int = 32) -> None:
        self.num_samples = check_number('MatchedPixelPairs', 'num_samples', num_samples, 1,
                                        integer=True)

    def __call__(self, ctx: MatchContext) -> List[PointPairs]:
        """``generator`` drives the sampling (default: torch's global generator)."""
        boxes, flips = ctx.geometry.boxes, ctx.geometry.flips
        out = []
        for a, b in ctx.pairs:
            index, grid, valid = sample_matched_pairs(boxes[a], flips[a], ctx.query_sizes[a],
                                                      boxes[b], flips[b], self.num_samples,
                                                      ctx.generator)
            out.append(PointPairs(query_index=index, valid=valid, key_grid=grid))
        return out

    @staticmethod
    def statistics(matches: Sequence[PointPairs]) -> dict:
        """Logged: ``valid_pairs``, the share of sampled pairs that are valid."""
        return {'valid_pairs': torch.cat([m.valid.reshape(-1) for m in matches]).float().mean()}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_samples={self.num_samples})'
