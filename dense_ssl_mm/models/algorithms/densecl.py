"""DenseCL: dense contrastive learning (Wang et al., CVPR 2021)."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views
from ..utils import FeatureQueue
from .mocov2 import MoCoV2


@MODELS.register_module()
class DenseCL(MoCoV2):
    """MoCo v2 plus a dense branch: a 1x1-conv projector gives ``S x S`` query vectors of view
    1; each is matched to the view-2 cell whose *backbone* C5 vector is most similar
    (:class:`FeatureArgmax`, no geometry) and contrasted, with its momentum key there, against
    a second queue that holds the image-averaged dense keys. The total is
    ``(1 - lambda) * global + lambda * dense``: ``lambda`` is the heads' ``loss_weight``
    (0.5 and 0.5 in the paper).

    Args:
        backbone: Backbone config (C5 out).
        neck: Global projector (as :class:`MoCoV2`'s).
        dense_neck: Dense projector ``ConvMLPNeck(norm_cfg=None)``, 2048 -> 2048 -> 128.
        head: Global :class:`DenseContrastHead` (``WholeImage``, ``loss_weight=1 - lambda``).
        dense_head: Dense :class:`DenseContrastHead` (``FeatureArgmax``,
            ``QueueInfoNCELoss``, ``pairs='one_way'``, ``loss_weight=lambda``).
        queue_size: K of both queues (65536).
    """

    dense_modules = ('backbone', 'dense_neck')

    def __init__(self, backbone: dict, neck: dict, dense_neck: dict, head: dict,
                 dense_head: dict, queue_size: int = 65536,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, head, queue_size, data_preprocessor, init_cfg,
                         teachers=teachers)
        self.dense_neck = MODELS.build(dense_neck)
        self.dense_head = MODELS.build(dense_head)
        self.dense_queue = FeatureQueue(queue_size, dense_neck.get('out_channels', 128))
        self.momentum_modules = ('backbone', 'neck', 'dense_neck')
        self.build_targets(('dense_neck', ))

    def target_projections(self, feat: Tensor) -> Tuple[Tensor, ...]:
        return self.target_neck(feat), self.target_dense_neck(feat)

    def extract_dense(self, images: Tensor) -> Tensor:
        """The dense projector's ``(N, 128, H/32, W/32)`` map of the online branch."""
        return self.dense_neck(self.backbone(images))

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` two views (query, key); ``data_samples`` their batched geometry."""
        views = split_views(inputs)
        q_feat = self.backbone(views[0])[-1]  # [N, 2048, S, S]
        q_global, q_dense = self.neck(q_feat), self.dense_neck(q_feat)  # [N, 128, 1|S, 1|S]
        with torch.no_grad():
            k_feat, k_global, k_dense = self.encode_keys(views[1])
        # matching uses the backbone features: online for view 1, momentum for view 2
        losses = self.dense_head.loss([q_dense, None], [None, k_dense], data_samples,
                                      features=[q_feat.detach(), k_feat],
                                      negatives=self.dense_queue.queue)
        self.dense_queue.enqueue(F.normalize(k_dense.mean((2, 3)), dim=1))
        losses.update(self.global_loss(q_global, k_global, data_samples))
        return losses
