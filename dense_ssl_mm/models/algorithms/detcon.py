"""DetCon: contrastive detection over unsupervised segments (Hénaff et al., ICCV 2021,
"Efficient Visual Pretraining with Contrastive Detection"), BYOL form (DetConB) and SimCLR
form (DetConS)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_number
from ..utils import cell_segments, pool_segments, sample_segments
from .base import DenseAlgorithm
from .momentum import MomentumAlgorithm
from .seeded_sampling import SeededSampling


class DetConMixin(SeededSampling):
    """What both forms share: per view, the segment of every C5 cell (the view's mask, cut
    with its geometry by :class:`MasksToViews`, pooled to the grid), ``num_masks`` ids drawn
    among the present segments (the same ids for every branch of that view), and the mean
    feature of each drawn segment's cells.
    """

    def init_detcon(self, loss: dict, num_masks: int, sampling_seed: int) -> None:
        self.detcon_loss = MODELS.build(loss)
        self.num_masks = check_number(type(self).__name__, 'num_masks', num_masks, 1,
                                      integer=True)
        self.init_sampling(sampling_seed)

    def segments(self, feats: Sequence[Tensor],
                 geometry: ViewData) -> Tuple[List[Tensor], List[Tensor]]:
        """Per view: ``(N, H*W)`` cell segments and ``(N, num_masks)`` drawn ids."""
        masks = geometry.get('masks')
        if masks is None:
            raise BadInputError(f'{type(self).__name__} needs each view\'s segment mask (the '
                                "per-view datum 'masks': LoadFHMask before and MasksToViews after "
                                'MultiViewTransform in the pipeline)')
        if len(feats) != 2:
            raise BadInputError(f'{type(self).__name__} contrasts two views, got {len(feats)}')
        generator = self.sampling_generator(feats[0].device)
        cells = [cell_segments(m, tuple(f.shape[-2:])) for m, f in zip(masks, feats)]
        ids = [sample_segments(c, self.num_masks, generator) for c in cells]
        return cells, ids

    @staticmethod
    def per_segment(mlp, x: Tensor) -> Tensor:
        """A 1x1-conv MLP on ``(N, K, C)`` segment vectors, each one sample (BN over the
        N K segments, as the reference's MLP on the flattened batch): ``(N, K, D)``."""
        n, k, c = x.shape
        return mlp(x.reshape(n * k, c, 1, 1)).view(n, k, -1)


@MODELS.register_module()
class DetConB(DetConMixin, MomentumAlgorithm):
    """BYOL form: online ``backbone -> pool -> projector -> predictor`` against the momentum
    target's ``backbone -> pool -> projector`` (target momentum 0.996 -> 1, cosine).

    Args:
        backbone: Backbone config (its last output is C5).
        neck: Projector config (2048 -> 4096 -> 256, BN; a 1x1-conv MLP).
        predictor: Predictor config (256 -> 4096 -> 256).
        loss: :class:`DetConLoss` config (temperature 0.1).
        num_masks: Segments drawn per view (16).
        sampling_seed: Seed of the draws (per step and rank: a resumed run repeats them).
    """

    def __init__(self, backbone: dict, neck: dict, predictor: dict,
                 loss: dict = dict(type='DetConLoss'), num_masks: int = 16,
                 sampling_seed: int = 0, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        self.predictor = MODELS.build(predictor)
        self.init_detcon(loss, num_masks, sampling_seed)
        self.build_targets()

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` two views; ``data_samples`` their geometry with ``masks`` ``(2, N, h, w)``."""
        views = split_views(inputs)
        feats = [self.backbone(v)[-1] for v in views]  # 2 x [N, C5, H, W]
        cells, ids = self.segments(feats, data_samples)
        preds = [self.per_segment(self.predictor,
                                  self.per_segment(self.neck, pool_segments(f, c, i)))
                 for f, c, i in zip(feats, cells, ids)]
        with torch.no_grad():  # the same cells and ids: the target pools the same segments
            targets = [self.per_segment(self.target_neck,
                                        pool_segments(self.target_backbone(v)[-1], c, i))
                       for v, c, i in zip(views, cells, ids)]
        return self.detcon_loss(preds, targets, ids)


@MODELS.register_module()
class DetConS(DetConMixin, DenseAlgorithm):
    """SimCLR form: one network (no target, no hook), ``backbone -> pool -> projector`` of
    both views contrasted with each other.

    Args:
        backbone: Backbone config (its last output is C5).
        neck: Projector config (2048 -> 4096 -> 256, BN; a 1x1-conv MLP).
        loss: :class:`DetConLoss` config (temperature 0.1).
        num_masks: Segments drawn per view (16).
        sampling_seed: Seed of the draws.
    """

    def __init__(self, backbone: dict, neck: dict, loss: dict = dict(type='DetConLoss'),
                 num_masks: int = 16, sampling_seed: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        self.init_detcon(loss, num_masks, sampling_seed)

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` two views; ``data_samples`` their geometry with ``masks`` ``(2, N, h, w)``."""
        feats = [self.backbone(v)[-1] for v in split_views(inputs)]
        cells, ids = self.segments(feats, data_samples)
        projections = [self.per_segment(self.neck, pool_segments(f, c, i))
                       for f, c, i in zip(feats, cells, ids)]
        return self.detcon_loss(projections, projections, ids)
