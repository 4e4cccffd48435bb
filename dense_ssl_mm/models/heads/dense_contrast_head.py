"""Dense losses between the online and target features of two views."""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from ..utils import positive_mask

LOSS_TYPES = ('pixpro', 'pixcontrast')


def pixpro_consistency_loss(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """PixPro's loss for one direction, mean over images.

    ``l = -2 * sum_ij mask_ij cos(pred_i, target_j) / (sum_ij mask_ij + 1e-6)`` per image: an
    image with no positive pair contributes 0.

    Args:
        pred: ``(N, C, H1, W1)`` propagated online features of view a.
        target: ``(N, C, H2, W2)`` target features of view b.
        mask: ``(N, H1*W1, H2*W2)`` positive pairs.
    """
    p = F.normalize(pred.flatten(2), dim=1)  # [N, C, HW1]
    t = F.normalize(target.flatten(2), dim=1)  # [N, C, HW2]
    sim = torch.bmm(p.transpose(1, 2), t)  # [N, HW1, HW2]
    mask = mask.to(sim.dtype)
    per_image = (sim * mask).sum((1, 2)) / (mask.sum((1, 2)) + 1e-6)
    return -2 * per_image.mean()


def pixcontrast_loss(online: Tensor, target: Tensor, mask: Tensor, temperature: float) -> Tensor:
    """PixContrast's InfoNCE for one direction, mean over cells that have a positive.

    For cell i of view a: ``-log(sum_pos exp(s_ij / tau) / sum_all exp(s_ij / tau))`` with
    ``s`` the cosine similarity to the target cells of view b; the negatives are the cells of
    view b farther than the threshold. Returns 0 (with a graph) when no cell has a positive.
    """
    q = F.normalize(online.flatten(2), dim=1)  # [N, C, HW1]
    k = F.normalize(target.flatten(2), dim=1)  # [N, C, HW2]
    logits = torch.bmm(q.transpose(1, 2), k) / temperature  # [N, HW1, HW2]
    has_pos = mask.any(-1)  # [N, HW1]
    # Rows without a positive would give logsumexp(-inf) and NaN gradients: give them 0s.
    pos_logits = logits.masked_fill(~mask, float('-inf')).masked_fill(~has_pos[..., None], 0.)
    per_cell = torch.logsumexp(logits, -1) - torch.logsumexp(pos_logits, -1)  # [N, HW1]
    per_cell = per_cell.masked_fill(~has_pos, 0.)
    return per_cell.sum() / has_pos.sum().clamp(min=1)


@MODELS.register_module()
class DenseContrastHead(BaseModule):
    """Dense losses computed from two views' features and geometry.

    The cell correspondence comes from ``models/utils/correspondence.py``; the mask of the
    view-1 -> view-2 direction is computed once and transposed for the other direction. Both
    directions are summed, as in the paper.

    Args:
        loss_type: ``'pixpro'`` (consistency, positives only) or ``'pixcontrast'`` (InfoNCE,
            positives and negatives by the threshold).
        pos_threshold: T, the normalised centre distance under which two cells are a positive.
        temperature: tau of PixContrast.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, loss_type: str = 'pixpro', pos_threshold: float = 0.7,
                 temperature: float = 0.3, loss_weight: float = 1.0) -> None:
        super().__init__()
        if loss_type not in LOSS_TYPES:
            raise ValueError(f'DenseContrastHead loss_type must be one of {LOSS_TYPES}, '
                             f'got {loss_type!r}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.loss_type = loss_type
        self.pos_threshold = pos_threshold
        self.temperature = temperature
        self.loss_weight = loss_weight

    def positive_masks(self, online: Sequence[Tensor], target: Sequence[Tensor], boxes: Tensor,
                       flips: Tensor) -> Sequence[Tensor]:
        """Masks of the directions 1 -> 2 and 2 -> 1: ``(N, HW1, HW2)`` and its transpose."""
        mask = positive_mask(boxes[0], flips[0], tuple(online[0].shape[-2:]), boxes[1], flips[1],
                             tuple(target[1].shape[-2:]), self.pos_threshold)
        return mask, mask.transpose(1, 2)

    def loss(self, online: Sequence[Tensor], target: Sequence[Tensor], boxes: Tensor,
             flips: Tensor) -> Dict[str, Tensor]:
        """Compute the symmetric dense loss.

        Args:
            online: Two ``(N, C, H, W)`` online outputs (PixPro: after the PPM).
            target: Two ``(N, C, H, W)`` target outputs (no gradient).
            boxes: ``(2, N, 4)`` crop boxes of the views.
            flips: ``(2, N)`` flip flags.

        Returns:
            ``loss_<type>`` and ``pos_ratio`` (share of cell pairs that are positive).
        """
        if online[0].shape[-2:] != target[0].shape[-2:]:
            raise ValueError(f'online maps {tuple(online[0].shape)} and target maps '
                             f'{tuple(target[0].shape)} must cover the same cells')
        mask12, mask21 = self.positive_masks(online, target, boxes, flips)
        if self.loss_type == 'pixpro':
            loss = (pixpro_consistency_loss(online[0], target[1], mask12) +
                    pixpro_consistency_loss(online[1], target[0], mask21))
        else:
            loss = (pixcontrast_loss(online[0], target[1], mask12, self.temperature) +
                    pixcontrast_loss(online[1], target[0], mask21, self.temperature))
        return {f'loss_{self.loss_type}': self.loss_weight * loss,
                'pos_ratio': mask12.float().mean().detach()}
