"""PixContrast: pixel-level InfoNCE (Xie et al., CVPR 2021, section 3.2)."""
from typing import Dict, List, Optional, Union

import torch
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views
from .momentum import MomentumAlgorithm


@MODELS.register_module()
class PixContrast(MomentumAlgorithm):
    """Online ``backbone -> projector`` contrasted with the target's cells of the other view.

    Args:
        backbone: Backbone config.
        neck: Dense projector config.
        head: :class:`DenseContrastHead` config (``GeometricPositives`` +
            ``PixContrastLoss``).
    """

    def __init__(self, backbone: dict, neck: dict, head: dict,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        self.head = MODELS.build(head)
        self.build_targets()

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` V views (two in the paper); ``data_samples`` their batched geometry."""
        views = split_views(inputs)
        online = [self.neck(self.backbone(v)) for v in views]  # V x [N, 256, h, w]
        with torch.no_grad():
            target = [self.target_neck(self.target_backbone(v)) for v in views]
        return self.head.loss(online, target, data_samples)
