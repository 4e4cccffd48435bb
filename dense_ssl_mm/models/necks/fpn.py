"""Feature pyramid (Lin et al., CVPR 2017) with ``mmdet.FPN``'s keys, without importing mmdet.

Built from ``mmcv.cnn.ConvModule`` only (present in ``mmcv-lite``), so VADeR pretrains with no
compiled op; its state dict (``lateral_convs.{i}.conv``, ``fpn_convs.{i}.conv``, and ``.bn`` /
``.gn`` with a norm) is ``mmdet.FPN``'s, so ``tools/export_backbone.py --neck`` hands it to an
mmdet detector unchanged; with the same seed it initialises to the same weights.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_choice, check_number

EXTRA_SOURCES = ('on_input', 'on_lateral', 'on_output')


@MODELS.register_module()
class FPN(BaseModule):
    """Top-down pathway with lateral 1x1 convs and 3x3 output convs.

    For inputs ``C_i`` of shapes ``(N, in_channels[i], H_i, W_i)``: ``L_i = lateral(C_i)``;
    from the coarsest level down, ``L_{i-1} += upsample(L_i)`` (to ``L_{i-1}``'s size, or by
    ``upsample_cfg['scale_factor']``); ``P_i = fpn_conv(L_i)``, each
    ``(N, out_channels, H_i, W_i)``. Levels beyond the inputs (``num_outs`` larger) are
    stride-2 max pools of the last output, or stride-2 3x3 convs with ``add_extra_convs``
    (applied to the last input, lateral or output).

    Args:
        in_channels: Channels of each input level.
        out_channels: Channels of every output level.
        num_outs: Number of output levels.
        start_level: First input level used.
        end_level: Last input level used (-1: the last).
        add_extra_convs: False, True (= ``'on_input'``), ``'on_input'``, ``'on_lateral'`` or
            ``'on_output'``.
        relu_before_extra_convs: ReLU before each extra conv after the first.
        no_norm_on_lateral: No norm on the lateral convs.
        conv_cfg / norm_cfg / act_cfg: Layer configs of every ``ConvModule``.
        upsample_cfg: Arguments of ``F.interpolate`` in the top-down pathway.
        init_cfg: Initialisation (Xavier-uniform convs, as mmdet).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False, no_norm_on_lateral: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None, upsample_cfg: dict = dict(mode='nearest'),
                 init_cfg: Optional[dict] = dict(type='Xavier', layer='Conv2d',
                                                 distribution='uniform')) -> None:
        super().__init__(init_cfg=init_cfg)
        owner = 'FPN'
        self.in_channels = list(in_channels)
        num_ins = len(self.in_channels)
        check_number(owner, 'out_channels', out_channels, 1, integer=True)
        check_number(owner, 'start_level', start_level, 0, num_ins - 1, integer=True)
        if end_level in (-1, num_ins - 1):
            self.backbone_end_level = num_ins
            if num_outs < num_ins - start_level:
                raise BadInputError(f'{owner}: num_outs {num_outs} is fewer than the '
                                    f'{num_ins - start_level} levels from start_level '
                                    f'{start_level}')
        else:
            check_number(owner, 'end_level', end_level, start_level, num_ins - 1, integer=True)
            self.backbone_end_level = end_level + 1
            if num_outs != end_level - start_level + 1:
                raise BadInputError(f'{owner}: num_outs {num_outs} must equal end_level - '
                                    f'start_level + 1 = {end_level - start_level + 1}')
        if add_extra_convs is True:
            add_extra_convs = 'on_input'
        if add_extra_convs:
            check_choice(owner, 'add_extra_convs', add_extra_convs, EXTRA_SOURCES)
        self.out_channels, self.num_outs, self.start_level = out_channels, num_outs, start_level
        self.add_extra_convs = add_extra_convs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.upsample_cfg = dict(upsample_cfg)

        def conv(c_in: int, kernel: int, stride: int = 1, norm: Optional[dict] = norm_cfg):
            return ConvModule(c_in, out_channels, kernel, stride=stride, padding=kernel // 2,
                              conv_cfg=conv_cfg, norm_cfg=norm, act_cfg=act_cfg,
                              inplace=False)

        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(
                conv(self.in_channels[i], 1, norm=None if no_norm_on_lateral else norm_cfg))
            self.fpn_convs.append(conv(out_channels, 3))
        extra = num_outs - self.backbone_end_level + start_level
        for i in range(extra if add_extra_convs else 0):
            first_on_input = i == 0 and add_extra_convs == 'on_input'
            c_in = self.in_channels[self.backbone_end_level - 1] if first_on_input \
                else out_channels
            self.fpn_convs.append(conv(c_in, 3, stride=2))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """``len(in_channels)`` maps -> ``num_outs`` maps of ``out_channels`` channels."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'FPN: expected {len(self.in_channels)} input maps '
                             f'(in_channels={self.in_channels}), got {len(inputs)}')
        laterals: List[Tensor] = [lateral(inputs[i + self.start_level])
                                  for i, lateral in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            size = None if 'scale_factor' in self.upsample_cfg else laterals[i - 1].shape[2:]
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=size,
                                                              **self.upsample_cfg)
        used = len(laterals)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if self.num_outs > used and not self.add_extra_convs:
            for _ in range(self.num_outs - used):
                outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        elif self.num_outs > used:
            source = dict(on_input=inputs[self.backbone_end_level - 1],
                          on_lateral=laterals[-1], on_output=outs[-1])[self.add_extra_convs]
            outs.append(self.fpn_convs[used](source))
            for i in range(used + 1, self.num_outs):
                x = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
                outs.append(self.fpn_convs[i](x))
        return tuple(outs)
