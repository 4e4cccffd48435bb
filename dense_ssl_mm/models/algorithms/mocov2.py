"""MoCo v2: the global contrastive baseline of every dense paper (Chen et al., 2020)."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views
from dense_ssl_mm.utils.validation import check_number
from ..utils import FeatureQueue, batch_shuffle, batch_unshuffle
from .momentum import MomentumAlgorithm


@MODELS.register_module()
class MoCoV2(MomentumAlgorithm):
    """Query ``q = neck(backbone(view 1))``, key ``k = target(view 2)`` (momentum encoder,
    shuffled BN across GPUs), InfoNCE of ``q`` against ``k`` and a queue of earlier keys;
    the keys are enqueued after the loss. One direction, as in the paper.

    The head is the same :class:`DenseContrastHead` as the dense methods', with the
    :class:`WholeImage` matcher on ``(N, 128, 1, 1)`` maps and :class:`QueueInfoNCELoss`.

    Args:
        backbone: Backbone config (``ResNet``, C5 out).
        neck: Global projector: ``ConvMLPNeck(with_avg_pool=True, norm_cfg=None)``,
            2048 -> 2048 -> 128.
        head: :class:`DenseContrastHead` config (``WholeImage``, ``QueueInfoNCELoss``,
            ``pairs='one_way'``).
        queue_size: K, negatives kept (65536).
    """

    dense_modules = ('backbone', )

    def __init__(self, backbone: dict, neck: dict, head: dict, queue_size: int = 65536,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        check_number(type(self).__name__, 'queue_size', queue_size, 1, integer=True)
        self.head = MODELS.build(head)
        self.queue = FeatureQueue(queue_size, neck.get('out_channels', 128))
        self.build_targets()

    def extract_dense(self, images: Tensor) -> Tensor:
        """A global method has no dense head: its dense output is the backbone's C5."""
        return self.backbone(images)[-1]

    def encode_keys(self, images: Tensor) -> Tuple[Tensor, ...]:
        """Target ``(C5, global key)`` of ``(N, 3, H, W)`` images, BN shuffled over ranks."""
        shuffled, undo = batch_shuffle(images)
        feat = self.target_backbone(shuffled)[-1]
        outputs = (feat, ) + self.target_projections(feat)
        return tuple(batch_unshuffle(x, undo) for x in outputs)

    def target_projections(self, feat: Tensor) -> Tuple[Tensor, ...]:
        """What the momentum encoder computes from its backbone's C5."""
        return (self.target_neck(feat), )

    def global_loss(self, q_global: Tensor, k_global: Tensor,
                    geometry: ViewData) -> Dict[str, Tensor]:
        """The head's loss of ``(N, C, 1, 1)`` query (view 1) and key (view 2); enqueue keys."""
        losses = self.head.loss([q_global, None], [None, k_global], geometry,
                                negatives=self.queue.queue)
        self.queue.enqueue(F.normalize(k_global.flatten(1), dim=1))
        return losses

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` two views (query, key); ``data_samples`` their batched geometry."""
        views = split_views(inputs)
        q_global = self.neck(self.backbone(views[0])[-1])  # [N, 128, 1, 1]
        with torch.no_grad():
            _, k_global = self.encode_keys(views[1])
        return self.global_loss(q_global, k_global, data_samples)
