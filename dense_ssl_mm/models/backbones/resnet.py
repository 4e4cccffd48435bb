"""ResNet for pretraining without compiled ops: mmdet's ``ResNet`` layout, no mmdet import.

Importing ``mmdet.models`` imports ``mmcv.ops``, which needs a compiled mmcv. Pretraining uses
no compiled op, so this backbone is built from ``mmcv.cnn``'s layer builders only (present in
``mmcv-lite``). Its state dict has exactly the keys, shapes and meaning of ``mmdet.ResNet``
(``conv1``, ``bn1``, ``layer{1-4}.{b}.conv{1-3}/bn{1-3}/downsample.{0,1}``), so an exported
checkpoint loads into mmdet and mmseg models with no missing key; with the same seed it is
initialised to the same weights (same submodule order, same ``init_cfg``).
"""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule, Sequential
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.errors import BadInputError, BadInputKeyError, BadInputTypeError
from dense_ssl_mm.utils.validation import check_choice, check_number


class BasicBlock(BaseModule):
    """Two 3x3 conv-norm layers with an identity (or projected) shortcut; stride in conv1."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'), init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:  # zero_init_residual's target (init_cfg override by name)
        return getattr(self, self.norm2_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)  # in place, as mmdet
        return out

    def forward(self, x: Tensor) -> Tensor:
        """``(N, inplanes, H, W)`` -> ``(N, planes * expansion, H / stride, W / stride)``."""
        if self.with_cp and x.requires_grad:
            return self.relu(cp.checkpoint(self._residual, x, use_reentrant=False))
        return self.relu(self._residual(x))


class Bottleneck(BasicBlock):
    """1x1 -> 3x3 -> 1x1 conv-norm layers, 4x expansion; ``pytorch`` style puts the stride on
    the 3x3 conv, ``caffe`` style on the first 1x1."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'), init_cfg: Optional[dict] = None) -> None:
        BaseModule.__init__(self, init_cfg)
        stride1, stride2 = (1, stride) if style == 'pytorch' else (stride, 1)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 1, stride=stride1,
                                      bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, stride=stride2,
                                      padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, planes, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    @property
    def norm3(self) -> nn.Module:  # zero_init_residual's target
        return getattr(self, self.norm3_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        out += x if self.downsample is None else self.downsample(x)  # in place, as mmdet
        return out


def make_stage(block: type, inplanes: int, planes: int, num_blocks: int, stride: int,
               dilation: int, avg_down: bool, **kwargs) -> Sequential:
    """One stage: the first block changes resolution/width (projected shortcut), the rest
    keep it. With ``avg_down`` the shortcut averages ``stride x stride`` then projects.
    mmengine's ``Sequential`` so that initialising the backbone reaches the blocks' own
    ``init_cfg`` (``zero_init_residual``)."""
    downsample = None
    out = planes * block.expansion
    if stride != 1 or inplanes != out:
        layers = []
        if avg_down:  # (also at stride 1, a 1x1 pool, so the keys are mmdet's)
            layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True,
                                       count_include_pad=False))
        layers += [build_conv_layer(kwargs.get('conv_cfg'), inplanes, out, 1,
                                    stride=1 if avg_down else stride, bias=False),
                   build_norm_layer(kwargs['norm_cfg'], out)[1]]
        downsample = nn.Sequential(*layers)
    blocks = [block(inplanes, planes, stride, dilation, downsample, **kwargs)]
    blocks += [block(out, planes, 1, dilation, **kwargs) for _ in range(1, num_blocks)]
    return Sequential(*blocks)


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet-18/34/50/101/152 (He et al., 2016) with ``mmdet.ResNet``'s keys and behaviour.

    Output: the maps of the stages in ``out_indices``, e.g. for depth 50 and an
    ``(N, 3, H, W)`` input, C2-C5 = ``(N, 256, H/4, W/4)`` ... ``(N, 2048, H/32, W/32)``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: Input channels.
        stem_channels: Width of the stem (default ``base_channels``).
        base_channels: Width of the first stage (64).
        num_stages: Number of stages, 1-4.
        strides: Stride of each stage's first block.
        dilations: Dilation of each stage.
        out_indices: Stages whose output is returned (0-based).
        style: ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'`` (on the first 1x1).
        deep_stem: Three 3x3 convs instead of the 7x7 stem (ResNet-D).
        avg_down: Average-pool before the shortcut projection (ResNet-D).
        frozen_stages: Stages (0 = stem) whose parameters are frozen and whose BN is kept in
            eval mode; -1 freezes nothing.
        conv_cfg: Conv layer config (None: ``nn.Conv2d``).
        norm_cfg: Norm layer config (``BN``, ``SyncBN``, ``GN``, ...).
        norm_eval: Keep every BN layer in eval mode during training (frozen statistics).
        with_cp: Gradient checkpointing in each block (saves memory, costs a forward).
        zero_init_residual: Initialise the last norm scale of each block to 0.
        init_cfg: Initialisation (default: Kaiming for convs, 1 for norms, as mmdet).
    """

    arch_settings = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
                     50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
                     152: (Bottleneck, (3, 8, 36, 3))}

    def __init__(self, depth: int, in_channels: int = 3, stem_channels: Optional[int] = None,
                 base_channels: int = 64, num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3), style: str = 'pytorch',
                 deep_stem: bool = False, avg_down: bool = False, frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True), norm_eval: bool = True,
                 with_cp: bool = False, zero_init_residual: bool = True,
                 init_cfg: Optional[dict] = None, **unsupported) -> None:
        owner = 'ResNet'
        if unsupported.get('dcn') is None:  # mmdet's switches, accepted while switched off
            unsupported.pop('stage_with_dcn', None)
        unsupported = {k: v for k, v in unsupported.items()
                       if not (k in ('dcn', 'plugins', 'pretrained') and v is None)}
        if unsupported:
            raise BadInputTypeError(
                f'{owner}: {sorted(unsupported)} not supported by the ops-free ResNet (dcn and '
                f'plugins need mmcv.ops): use type="mmdet.ResNet" with a compiled mmcv')
        if depth not in self.arch_settings:
            raise BadInputKeyError(f'{owner}: depth must be one of {sorted(self.arch_settings)}, '
                                   f'got {depth!r}')
        check_number(owner, 'num_stages', num_stages, 1, 4, integer=True)
        check_choice(owner, 'style', style, ('pytorch', 'caffe'))
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise BadInputError(f'{owner}: strides {tuple(strides)} and dilations '
                                f'{tuple(dilations)} need one entry per stage ({num_stages})')
        if not out_indices or max(out_indices) >= num_stages or min(out_indices) < 0:
            raise BadInputError(f'{owner}: out_indices must lie in [0, {num_stages - 1}], got '
                                f'{tuple(out_indices)}')
        check_number(owner, 'frozen_stages', frozen_stages, -1, num_stages, integer=True)
        block, stage_blocks = self.arch_settings[depth]
        block_init_cfg = None
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
            if zero_init_residual:
                last = 'norm2' if block is BasicBlock else 'norm3'
                block_init_cfg = dict(type='Constant', val=0, override=dict(name=last))
        super().__init__(init_cfg)
        self.depth, self.out_indices = depth, tuple(out_indices)
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.deep_stem, self.zero_init_residual = deep_stem, zero_init_residual
        stem_channels = stem_channels or base_channels
        self._make_stem(in_channels, stem_channels, conv_cfg, norm_cfg)
        self.res_layers = []
        inplanes = stem_channels
        for i, num_blocks in enumerate(stage_blocks[:num_stages]):
            planes = base_channels * 2 ** i
            stage = make_stage(block, inplanes, planes, num_blocks, strides[i], dilations[i],
                               avg_down, style=style, with_cp=with_cp, conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg, init_cfg=block_init_cfg)
            inplanes = planes * block.expansion
            self.add_module(f'layer{i + 1}', stage)
            self.res_layers.append(f'layer{i + 1}')
        self.feat_dim = inplanes
        self._freeze_stages()

    def _make_stem(self, in_channels: int, width: int, conv_cfg: Optional[dict],
                   norm_cfg: dict) -> None:
        if self.deep_stem:
            layers, c_in = [], in_channels
            for c_out, stride in ((width // 2, 2), (width // 2, 1), (width, 1)):
                layers += [build_conv_layer(conv_cfg, c_in, c_out, 3, stride=stride, padding=1,
                                            bias=False),
                           build_norm_layer(norm_cfg, c_out)[1], nn.ReLU(inplace=True)]
                c_in = c_out
            self.stem = nn.Sequential(*layers)
        else:
            self.conv1 = build_conv_layer(conv_cfg, in_channels, width, 7, stride=2, padding=3,
                                          bias=False)
            self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _freeze_stages(self) -> None:
        """Stem (stage 0) and stages 1..frozen_stages: no gradient, norms in eval mode."""
        if self.frozen_stages < 0:
            return
        if self.deep_stem:
            self.stem.eval()
            frozen = [self.stem]
        else:
            self.norm1.eval()
            frozen = [self.conv1, self.norm1]
        for i in range(1, self.frozen_stages + 1):
            stage = getattr(self, f'layer{i}')
            stage.eval()
            frozen.append(stage)
        for module in frozen:
            for param in module.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """``(N, in_channels, H, W)`` -> the maps of ``out_indices`` (strides 4, 8, 16, 32)."""
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'ResNet':
        """Train mode, with frozen stages (and every BN with ``norm_eval``) kept in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
