"""Vision Transformers for the dense methods: timm's ``VisionTransformer`` (maintained,
DINOv2 and register variants, any multiple of the patch size as input, fused
scaled-dot-product attention), whose dense output is the map of patch tokens
``(N, C, H / p, W / p)``."""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_choice, check_number
from ..utils.strict_pretrained import fit_report
from .vit_layouts import read_vit_weights

#: ``arch`` -> (embedding width, depth, heads); the MLP is 4x wide.
ARCHS = dict(tiny=(192, 12, 3), small=(384, 12, 6), base=(768, 12, 12), large=(1024, 24, 16))
POS_RULES = ('timm', 'dinov2')


@MODELS.register_module()
class ViT(VisionTransformer):
    """A ViT whose outputs are patch-token maps, prefix tokens (class, registers) removed.

    ``forward(images)`` returns one ``(N, C, H / p, W / p)`` map per ``out_indices`` block,
    each after the final LayerNorm (as DINOv2's ``get_intermediate_layers(norm=True)``), so
    the geometry code sees a grid of cells like any backbone's: ViT-S/16 at 224 px gives
    14 x 14 cells of 16 px. Any input whose sides are multiples of the patch size works
    (positional embeddings resampled); another size is an error that names both numbers.

    The parameter names are timm's, which are also the official DINOv2 names except for
    three tensors (``vit_layouts.py``): ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``
    (or ``type='DINOv2'``, the same) loads, strictly, an official DINOv2 file (with or without
    registers; ``.pth`` or ``.safetensors``), a file in this layout, a pretraining checkpoint's
    online ``backbone.*``, a file saved from DDP (``module.`` stripped) or a DINOv2 training
    checkpoint (its teacher backbone; ``branch='student'`` in ``init_cfg`` for the student),
    saying in one log line what it found (:func:`~.vit_layouts.read_vit_weights`);
    ``pos_interpolation='dinov2'`` resamples the positional embedding by the
    official rule (bicubic; plain models: scale (grid + 0.1) / 37, no antialiasing; register
    models: the exact size, antialiased), so the features equal DINOv2's at every input size;
    timm's own rule (``'timm'``: exact size, antialiased, class slot kept) differs off the
    native size.

    Args:
        arch: ``'tiny'``, ``'small'``, ``'base'`` or ``'large'``.
        patch_size: 16 or 14 (DINOv2).
        img_size: The size the positional embedding is defined for (DINOv2: 518).
        reg_tokens: Register tokens (DINOv2 with registers: 4).
        layer_scale: Initial LayerScale value (DINOv2: trained gammas; 1e-5 at init), or None
            for no LayerScale.
        out_indices: Blocks whose tokens are output (negative: from the end).
        drop_path_rate: Stochastic depth rate (NeCo: 0.1).
        pos_interpolation: ``'timm'`` or ``'dinov2'`` (above).
        fused_attn: torch's scaled-dot-product attention (flash / memory-efficient kernels on
            a GPU); False: the explicit softmax(QK^T)V.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH[, branch='teacher'|'student'])``
            or None (timm's initialisation).
    """

    def __init__(self, arch: str = 'small', patch_size: int = 16, img_size: int = 224,
                 reg_tokens: int = 0, layer_scale: Optional[float] = None,
                 out_indices: Sequence[int] = (-1, ), drop_path_rate: float = 0.0,
                 pos_interpolation: str = 'timm', fused_attn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        owner = 'ViT'
        embed_dim, depth, heads = ARCHS[check_choice(owner, 'arch', arch, tuple(ARCHS))]
        check_number(owner, 'patch_size', patch_size, 1, integer=True)
        check_number(owner, 'reg_tokens', reg_tokens, 0, integer=True)
        super().__init__(img_size=img_size, patch_size=patch_size, embed_dim=embed_dim,
                         depth=depth, num_heads=heads, mlp_ratio=4.0, qkv_bias=True,
                         init_values=layer_scale, class_token=True, reg_tokens=reg_tokens,
                         no_embed_class=reg_tokens > 0, dynamic_img_size=True, num_classes=0,
                         global_pool='', drop_path_rate=drop_path_rate)
        for block in self.blocks:
            block.attn.fused_attn = bool(fused_attn)
        self.out_indices = tuple(sorted(i % depth for i in out_indices))
        self.pos_interpolation = check_choice(owner, 'pos_interpolation', pos_interpolation,
                                              POS_RULES)
        if init_cfg is not None and (init_cfg.get('type') not in ('DINOv2', 'Pretrained') or
                                     'checkpoint' not in init_cfg or
                                     set(init_cfg) - {'type', 'checkpoint', 'branch'}):
            raise BadInputError(f"ViT: init_cfg must be dict(type='Pretrained' or 'DINOv2', "
                                f"checkpoint=PATH[, branch='teacher' or 'student']) or None, "
                                f'got {init_cfg}')
        self.init_cfg = init_cfg

    def init_weights(self, mode: str = '', needs_reset: bool = True) -> None:
        """timm's initialisation (done at construction), or the ``init_cfg`` checkpoint."""
        if 'out_indices' not in self.__dict__:  # timm's own call from its constructor
            return super().init_weights(mode, needs_reset=needs_reset)
        if self.init_cfg is None:
            return
        path = self.init_cfg['checkpoint']
        state, notes = read_vit_weights(path, self.init_cfg.get('branch', 'teacher'))
        self.load_strict(state, path)
        print_log(f'ViT: loaded {len(state)} tensors from {path}'
                  + (f' ({"; ".join(notes)})' if notes else ''), logger='current')

    def load_strict(self, state: dict, source: str) -> None:
        """Load ``state``; any missing, unexpected or mis-shaped tensor is an error that
        names them (a ViT-S file into a ViT-B, a plain file into a register model, ...)."""
        report = fit_report(self.state_dict(), state)
        missing, unexpected = report['missing'], report['unexpected']
        shapes = [f'{k}: file {file}, model {model}' for k, file, model in report['mismatched']]
        if missing or unexpected or shapes:
            raise BadInputError(f'{source!r} does not fit this ViT: {self._register_hint(state)}'
                                f'{len(missing)} missing {missing[:5]}, {len(unexpected)} '
                                f'unexpected {unexpected[:5]}, {len(shapes)} of another shape '
                                f'{shapes[:3]}')
        self.load_state_dict(state)

    def _register_hint(self, state: dict) -> str:
        """What to change when the file's register tokens differ from the model's ('' if
        they agree): the reg4 config / ``reg_tokens``."""
        reg = state.get('reg_token')
        file_regs = int(reg.shape[1]) if reg is not None and reg.ndim == 3 else 0
        model_regs = int(self.reg_token.shape[1]) if self.reg_token is not None else 0
        if file_regs == model_regs:
            return ''
        if model_regs == 0:
            return (f'this file has {file_regs} register tokens and the model none: use the '
                    f'reg{file_regs} config (e.g. configs/neco_vit-s14-reg{file_regs}_dinov2_'
                    f'coco.py) / reg_tokens={file_regs}; ')
        if file_regs == 0:
            return (f'this file has no register tokens and the model {model_regs}: use the '
                    'plain config (e.g. configs/neco_vit-s14_dinov2_coco.py) / reg_tokens=0; ')
        return (f'this file has {file_regs} register tokens and the model {model_regs}: '
                f'use reg_tokens={file_regs}; ')

    def _pos_embed(self, x: Tensor) -> Tensor:
        """Tokens ``(N, h, w, C)`` -> prefix + patch tokens with positions."""
        if self.pos_interpolation == 'timm':
            return super()._pos_embed(x)
        n, h, w, c = x.shape
        pos = self.pos_embed.float()
        prefix = 0 if self.no_embed_class else self.num_prefix_tokens
        grid = self.patch_embed.grid_size
        patch_pos = pos[:, prefix:]
        if (h, w) != tuple(grid):
            m = int(math.isqrt(patch_pos.shape[1]))
            patch_pos = patch_pos.reshape(1, m, m, c).permute(0, 3, 1, 2)
            if self.no_embed_class:  # DINOv2 with registers: the size, antialiased
                patch_pos = F.interpolate(patch_pos, size=(h, w), mode='bicubic',
                                          antialias=True)
            else:  # plain DINOv2: the scale with its 0.1 offset, no antialiasing
                patch_pos = F.interpolate(patch_pos, scale_factor=((h + 0.1) / m,
                                                                   (w + 0.1) / m),
                                          mode='bicubic', antialias=False)
            patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, h * w, c)
        patch_pos = patch_pos.to(x.dtype)
        x = x.reshape(n, h * w, c)
        cls = self.cls_token.expand(n, -1, -1)
        if self.no_embed_class:
            tokens = [cls, self.reg_token.expand(n, -1, -1), x + patch_pos]
        else:
            tokens = [cls + pos[:, :1].to(x.dtype), x + patch_pos]
        return self.pos_drop(torch.cat(tokens, 1))

    def forward(self, images: Tensor) -> Tuple[Tensor, ...]:
        """``(N, 3, H, W)`` -> one ``(N, C, H // p, W // p)`` map per ``out_indices``."""
        x = self.patch_embed(images)  # [N, h, w, C] (dynamic_img_size)
        h, w = x.shape[1:3]
        x = self.norm_pre(self.patch_drop(self._pos_embed(x)))
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.out_indices:
                tokens = self.norm(x)[:, self.num_prefix_tokens:]
                outs.append(tokens.transpose(1, 2).reshape(x.shape[0], -1, h, w))
        return tuple(outs)
