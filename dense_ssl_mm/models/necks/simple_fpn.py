"""ViTDet's simple feature pyramid (Li et al., ECCV 2022): a pyramid from the single
stride-16 map of a plain ViT (or a stride-14 one resized to it), for mmdet's detectors
(mmdet 3.3.0's wheel has no ViTDet)."""
from typing import Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_number


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of ``(N, C, H, W)`` maps."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """From one ``(N, C, H/16, W/16)`` map: scale 4 by two 2x deconvolutions (LayerNorm and
    GELU between), 2 by one, 1 as is, 0.5 by 2x max-pooling; then per level a 1x1 and a 3x3
    convolution to ``out_channels``, each with LayerNorm; ``num_outs`` beyond the scales add
    stride-2 max-pooling of the last level (P6 for the RPN), as ViTDet does.

    Args:
        in_channels: Channels of the backbone's map (ViT width).
        out_channels: Channels of every level (256).
        scales: Scales of the levels relative to the input map (4, 2, 1, 0.5: strides 4-32).
        num_outs: Levels returned (5: P2-P6).
        in_index: Which backbone output to use.
        in_stride: Input pixels per cell of the backbone's map: 16, or 14 for a DINOv2-style
            ViT/14, whose map is first resized (bilinear) to the stride-16 grid, so the
            levels keep mmdet's strides 4-64 (the image padded to a multiple of 224, the
            least common multiple of 14 and 32, gives an exact grid).
    """

    def __init__(self, in_channels: int, out_channels: int = 256,
                 scales: Sequence[float] = (4.0, 2.0, 1.0, 0.5), num_outs: int = 5,
                 in_index: int = -1, in_stride: int = 16, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_number('SimpleFeaturePyramid', 'in_channels', in_channels, 1, integer=True)
        if num_outs < len(scales):
            raise BadInputError(f'SimpleFeaturePyramid: num_outs {num_outs} < {len(scales)} scales')
        self.in_index, self.num_outs = in_index, num_outs
        self.in_stride = check_number('SimpleFeaturePyramid', 'in_stride', in_stride, 1,
                                      integer=True)
        self.stages = nn.ModuleList()
        for scale in scales:
            if scale == 4.0:
                half = in_channels // 2
                layers = [nn.ConvTranspose2d(in_channels, half, 2, 2), LayerNorm2d(half),
                          nn.GELU(), nn.ConvTranspose2d(half, half // 2, 2, 2)]
                width = half // 2
            elif scale == 2.0:
                layers, width = [nn.ConvTranspose2d(in_channels, in_channels // 2, 2, 2)], \
                    in_channels // 2
            elif scale == 1.0:
                layers, width = [], in_channels
            elif scale == 0.5:
                layers, width = [nn.MaxPool2d(2, 2)], in_channels
            else:
                raise BadInputError(f'SimpleFeaturePyramid: scale {scale} is not 4, 2, 1 or 0.5')
            layers += [nn.Conv2d(width, out_channels, 1, bias=False), LayerNorm2d(out_channels),
                       nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                       LayerNorm2d(out_channels)]
            self.stages.append(nn.Sequential(*layers))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        x = inputs[self.in_index] if isinstance(inputs, (list, tuple)) else inputs
        if self.in_stride != 16:  # to the stride-16 grid of the same image
            size = [round(side * self.in_stride / 16) for side in x.shape[-2:]]
            x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
        outs = [stage(x) for stage in self.stages]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
