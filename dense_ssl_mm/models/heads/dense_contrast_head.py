"""Dense losses between the online and target features of two views."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_choice, check_number
from ..utils import positive_mask, reference_boxes, sample_matched_pairs

LOSS_TYPES = ('pixpro', 'pixcontrast', 'vader')
DISTANCES = ('pixel', 'reference')
Pairs = Tuple[Tensor, Tensor, Tensor]


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


def vader_nce_loss(query: Tensor, key: Tensor, valid: Tensor, negatives: Tensor,
                   temperature: float) -> Tensor:
    """VADeR's NCE for matched pixel pairs against a bank of negatives.

    ``-log(exp(c(q, k+)) / (exp(c(q, k+)) + sum_k- exp(c(q, k-))))`` with ``c`` the cosine
    similarity divided by ``temperature``, averaged over the valid pairs (0 if none).

    Args:
        query: ``(M, C)`` online features. key: ``(M, C)`` matched target features.
        valid: ``(M,)`` bool. negatives: ``(K, C)`` unit vectors (the queue).
    """
    q = F.normalize(query, dim=1)
    k = F.normalize(key, dim=1)
    pos = (q * k).sum(1, keepdim=True)  # [M, 1]
    neg = q @ negatives.t()  # [M, K]
    logits = torch.cat([pos, neg], 1) / temperature
    per_pair = torch.logsumexp(logits, 1) - logits[:, 0]
    valid = valid.to(per_pair.dtype)
    return (per_pair * valid).sum() / valid.sum().clamp(min=1)


@MODELS.register_module()
class DenseContrastHead(BaseModule):
    """Dense losses computed from two views' features and geometry.

    The cell correspondence comes from ``models/utils/correspondence.py``; the mask of the
    view-1 -> view-2 direction is computed once and transposed for the other direction. Both
    directions are summed, as in the paper.

    Args:
        loss_type: ``'pixpro'`` (consistency, positives only), ``'pixcontrast'`` (InfoNCE,
            positives and negatives by the threshold) or ``'vader'`` (NCE of matched pixel
            pairs against a queue of other images' features).
        pos_threshold: T, the normalised centre distance under which two cells are a positive.
        temperature: tau (0.3 for PixContrast, 0.07 for VADeR).
        loss_weight: Multiplier of the loss.
        num_samples: VADeR's P, matched pairs sampled per image and direction.
        distance: How PixPro/PixContrast measure centre distances: ``'pixel'`` (default;
            isotropic, in original-image pixels, the paper's definition) or ``'reference'``
            (the official code's per-axis normalised units, x / (W - 1) and y / (H - 1): on
            non-square images the positives differ; use it to reproduce published numbers
            exactly). ``'reference'`` needs the original image sizes (``image_sizes``), which
            :class:`PairedViewDataPreprocessor` provides from the samples' ``ori_shape``.
    """

    def __init__(self, loss_type: str = 'pixpro', pos_threshold: float = 0.7,
                 temperature: float = 0.3, loss_weight: float = 1.0,
                 num_samples: int = 32, distance: str = 'pixel') -> None:
        super().__init__()
        owner = 'DenseContrastHead'
        self.loss_type = check_choice(owner, 'loss_type', loss_type, LOSS_TYPES)
        self.pos_threshold = check_number(owner, 'pos_threshold', pos_threshold, 0,
                                          low_open=True)
        self.temperature = check_number(owner, 'temperature', temperature, 0, low_open=True)
        self.loss_weight = check_number(owner, 'loss_weight', loss_weight, 0)
        self.num_samples = check_number(owner, 'num_samples', num_samples, 1, integer=True)
        self.distance = check_choice(owner, 'distance', distance, DISTANCES)

    def positive_masks(self, online: Sequence[Tensor], target: Sequence[Tensor], boxes: Tensor,
                       flips: Tensor, image_sizes: Optional[Tensor] = None) -> Sequence[Tensor]:
        """Masks of the directions 1 -> 2 and 2 -> 1: ``(N, HW1, HW2)`` and its transpose.

        ``image_sizes`` ``(N, 2)`` original ``(H, W)``: needed by ``distance='reference'``.
        """
        if self.distance == 'reference':
            if image_sizes is None:
                raise ValueError("DenseContrastHead(distance='reference') needs the original "
                                 'image sizes (inputs["image_sizes"], from ori_shape)')
            boxes = torch.stack([reference_boxes(b, image_sizes) for b in boxes])
        mask = positive_mask(boxes[0], flips[0], tuple(online[0].shape[-2:]), boxes[1], flips[1],
                             tuple(target[1].shape[-2:]), self.pos_threshold)
        return mask, mask.transpose(1, 2)

    def matched_pairs(self, online: Sequence[Tensor], target: Sequence[Tensor], boxes: Tensor,
                      flips: Tensor,
                      generator: Optional[torch.Generator] = None) -> List[Pairs]:
        """VADeR's matched pairs, both directions: ``[(q, k, valid)]`` for 1 -> 2 and 2 -> 1.

        ``q`` are online features at ``P`` sampled pixels of view a (uniform among the pixels
        whose centre is visible in view b); ``k`` the target features of view b at the same
        image points, bilinearly sampled (sub-pixel); ``(N * P, C)`` each, ``valid`` ``(N*P,)``.
        ``generator`` drives the sampling (default: torch's global generator).
        """
        pairs = []
        for a, b in ((0, 1), (1, 0)):
            n, c = online[a].shape[:2]
            index, grid, valid = sample_matched_pairs(
                boxes[a], flips[a], tuple(online[a].shape[-2:]), boxes[b], flips[b],
                self.num_samples, generator)
            q = online[a].flatten(2).gather(2, index[:, None].expand(n, c, -1))  # [N, C, P]
            # bilinear, sub-pixel; points in the outer half cell take the border cells
            k = F.grid_sample(target[b], grid[:, :, None].to(target[b].dtype), mode='bilinear',
                              padding_mode='border', align_corners=False)[..., 0]  # [N, C, P]
            pairs.append((q.transpose(1, 2).reshape(-1, c), k.transpose(1, 2).reshape(-1, c),
                          valid.reshape(-1)))
        return pairs

    def vader_loss(self, pairs: List[Pairs], negatives: Tensor) -> Dict[str, Tensor]:
        """Sum over both directions of :func:`vader_nce_loss`; ``negatives`` ``(K, C)``."""
        negatives = negatives.detach().clone()  # the queue is updated in place afterwards
        loss = sum(vader_nce_loss(q, k, v, negatives, self.temperature) for q, k, v in pairs)
        valid = torch.cat([v for _, _, v in pairs]).float().mean()
        return {'loss_vader': self.loss_weight * loss, 'valid_pairs': valid.detach()}

    def loss(self, online: Sequence[Tensor], target: Sequence[Tensor], boxes: Tensor,
             flips: Tensor, negatives: Optional[Tensor] = None,
             image_sizes: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the symmetric dense loss.

        Args:
            online: Two ``(N, C, H, W)`` online outputs (PixPro: after the PPM).
            target: Two ``(N, C, H, W)`` target outputs (no gradient).
            boxes: ``(2, N, 4)`` crop boxes of the views.
            flips: ``(2, N)`` flip flags.
            negatives: ``(K, C)`` queue of negatives (``'vader'`` only).
            image_sizes: ``(N, 2)`` original image sizes (``distance='reference'``).

        Returns:
            ``loss_<type>`` and ``pos_ratio`` (share of cell pairs that are positive) or, for
            VADeR, ``valid_pairs`` (share of sampled pairs that are valid).
        """
        if self.loss_type == 'vader':
            if negatives is None:
                raise ValueError("loss_type 'vader' needs the queue of negatives")
            return self.vader_loss(self.matched_pairs(online, target, boxes, flips), negatives)
        if online[0].shape[-2:] != target[0].shape[-2:]:
            raise ValueError(f'online maps {tuple(online[0].shape)} and target maps '
                             f'{tuple(target[0].shape)} must cover the same cells')
        mask12, mask21 = self.positive_masks(online, target, boxes, flips, image_sizes)
        if self.loss_type == 'pixpro':
            loss = (pixpro_consistency_loss(online[0], target[1], mask12) +
                    pixpro_consistency_loss(online[1], target[0], mask21))
        else:
            loss = (pixcontrast_loss(online[0], target[1], mask12, self.temperature) +
                    pixcontrast_loss(online[1], target[0], mask21, self.temperature))
        return {f'loss_{self.loss_type}': self.loss_weight * loss,
                'pos_ratio': mask12.float().mean().detach()}
