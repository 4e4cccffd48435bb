"""VADeR's decoder: an FPN whose levels are merged into one stride-4 embedding map."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number
from .fpn import FPN


@MODELS.register_module()
class DenseFPNNeck(BaseModule):
    """An :class:`FPN` (mmdet's keys) over C2-C5, merged into one map of L2-normalised
    embeddings.

    Each pyramid level P2-P5 is upsampled (bilinear) to the stride of P2 (4) and the levels are
    summed; a 3x3 conv-norm-ReLU and a 1x1 conv then give ``out_channels`` (128) per pixel,
    L2-normalised over channels: ``(N, 128, H/4, W/4)`` for an ``(N, 3, H, W)`` image. The FPN
    is kept as the submodule ``fpn`` so ``tools/export_backbone.py --neck`` can hand its
    weights to an mmdet ``FPN`` for fine-tuning.

    Args:
        in_channels: Backbone channels of C2-C5.
        fpn_channels: FPN width.
        out_channels: Embedding dimension.
        norm_cfg: Norm of the FPN and merge layers.
    """

    def __init__(self, in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 fpn_channels: int = 256, out_channels: int = 128,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in dict(fpn_channels=fpn_channels, out_channels=out_channels).items():
            check_number('DenseFPNNeck', name, value, 1, integer=True)
        self.fpn = FPN(in_channels=list(in_channels), out_channels=fpn_channels,
                       num_outs=len(in_channels), norm_cfg=norm_cfg)
        self.merge = ConvModule(fpn_channels, fpn_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.embed = nn.Conv2d(fpn_channels, out_channels, 1)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """C2-C5 maps -> ``(N, out_channels, H2, W2)`` unit-length embeddings (stride of C2)."""
        levels = self.fpn(tuple(feats))
        size = levels[0].shape[-2:]
        merged = levels[0]
        for level in levels[1:]:
            merged = merged + F.interpolate(level, size=size, mode='bilinear',
                                            align_corners=False)
        return F.normalize(self.embed(self.merge(merged)), dim=1)
