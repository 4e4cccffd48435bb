"""ViT checkpoint layouts -> this project's ViT (timm's names): pure functions and the reader.

The official DINOv2 files (``dinov2_vits14_pretrain.pth``, ``dinov2_vits14_reg4_pretrain.pth``,
...) use timm's block names already (``blocks.N.norm1``, ``attn.qkv``, ``ls1.gamma``,
``mlp.fc1``, ...); they
differ in three places, converted here: a ``mask_token`` (training-only, dropped), and in
register models ``register_tokens`` (timm: ``reg_token``) and a positional embedding with a
class slot, which timm's register models fold into ``cls_token`` (registers and patches
follow the class token; only patches carry a position). DINOv2 training checkpoints made
with ``block_chunks > 0`` (FSDP) hold the blocks as ``blocks.<chunk>.<index>.`` (the index
counts over all blocks): read as ``blocks.<index>.``.

:func:`read_vit_weights` reads a file of any of these layouts and containers.
"""
import re
from typing import Dict, List, Tuple

import torch
from torch import Tensor

from dense_ssl_mm.utils.checkpoint import read_weights
from dense_ssl_mm.utils.errors import BadInputError

_CHUNKED = re.compile(r'^blocks\.\d+\.(\d+)\.')


def is_dinov2_layout(state: Dict[str, Tensor]) -> bool:
    """A state dict in the official DINOv2 layout (it has the training-only mask token)."""
    return 'mask_token' in state


def dinov2_to_vit(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """An official DINOv2 state dict (with or without registers) in :class:`ViT`'s names.

    Raises:
        BadInputError: for the SwiGLU MLP of the g/14 model (not supported by :class:`ViT`).
    """
    if any('.mlp.w12.' in k for k in state):
        raise BadInputError('a DINOv2 giant checkpoint (SwiGLU MLP, mlp.w12 / mlp.w3): ViT '
                            'supports the tiny / small / base / large MLP layouts')
    out = {_CHUNKED.sub(r'blocks.\1.', k): v for k, v in state.items() if k != 'mask_token'}
    if 'register_tokens' in out:
        out['reg_token'] = out.pop('register_tokens')
        pos = out['pos_embed']
        out['cls_token'] = out['cls_token'] + pos[:, :1]
        out['pos_embed'] = pos[:, 1:]
    return out


def read_vit_weights(path: str, branch: str = 'teacher') -> Tuple[Dict[str, Tensor],
                                                                  List[str]]:
    """The ViT weights of a file in :class:`ViT`'s (timm's) names, and how they were found.

    Accepted: the official DINOv2 files (``.pth`` or ``.safetensors``, with or without
    registers), this layout, a pretraining checkpoint's online ``backbone.*``, and every
    container of :func:`~dense_ssl_mm.utils.checkpoint.read_weights` (DDP ``module.`` files,
    DINOv2 training checkpoints: the teacher by default, ``branch='student'``).

    Returns:
        ``(state, notes)``: notes are short phrases for one log line.
    """
    state, notes = read_weights(path, branch=branch)
    if any(k.startswith('backbone.') for k in state):  # a pretraining checkpoint
        state = {k[len('backbone.'):]: v for k, v in state.items()
                 if k.startswith('backbone.')}
        notes.append("a pretraining checkpoint's online backbone")
    if is_dinov2_layout(state):
        state = dinov2_to_vit(state)
        regs = state['reg_token'].shape[1] if 'reg_token' in state else 0
        notes.append('the official DINOv2 layout' + (f' with {regs} registers' if regs else ''))
    return state, notes


def vit_to_dinov2(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """:class:`ViT` weights in the official DINOv2 layout (the inverse of
    :func:`dinov2_to_vit`): loadable by DINOv2's ``vit_small(...)`` models and by every tool
    that reads the release files. The training-only ``mask_token`` is written as zeros; in a
    register model the class token's position is split back out of ``cls_token`` (the
    official class position is taken as 0, which gives the same sum)."""
    out = dict(state)
    dim = out['cls_token'].shape[-1]
    out['mask_token'] = out['cls_token'].new_zeros(1, dim)
    if 'reg_token' in out:
        out['register_tokens'] = out.pop('reg_token')
        pos = out['pos_embed']
        out['pos_embed'] = torch.cat((pos.new_zeros(1, 1, dim), pos), 1)
    return out


def vit_to_mmseg(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """:class:`ViT` weights in mmseg 1.2.2's ``VisionTransformer`` names, features unchanged.

    mmseg's ViT has no LayerScale: each block's gammas are folded into the projection before
    them (``attn.proj`` and ``mlp.fc2``: weight rows and bias scaled by gamma), which gives
    the same residual branch exactly; dropping them (what a non-strict load of mmseg's own
    converter does) would change every feature. The mmseg model must be built with
    ``patch_bias=True``, ``with_cls_token=True``, ``norm_cfg=dict(type='LN', eps=1e-6)``
    (timm's epsilon) and ``final_norm=True`` for the final norm (``ln1``).

    Raises:
        BadInputError: for register tokens (mmseg's ViT has none: their attention would be lost).
    """
    if 'reg_token' in state:
        raise BadInputError('mmseg\'s VisionTransformer has no register tokens: a ViT with '
                            'registers cannot be exported to it without changing its features')
    out = {'cls_token': state['cls_token'], 'pos_embed': state['pos_embed'],
           'patch_embed.projection.weight': state['patch_embed.proj.weight'],
           'patch_embed.projection.bias': state['patch_embed.proj.bias'],
           'ln1.weight': state['norm.weight'], 'ln1.bias': state['norm.bias']}
    depth = 1 + max(int(k.split('.')[1]) for k in state if k.startswith('blocks.'))
    for i in range(depth):
        src, dst = f'blocks.{i}.', f'layers.{i}.'
        gamma1 = state.get(f'{src}ls1.gamma')
        gamma2 = state.get(f'{src}ls2.gamma')

        def scaled(name, gamma):
            w, b = state[f'{src}{name}.weight'], state[f'{src}{name}.bias']
            return (w, b) if gamma is None else (w * gamma[:, None], b * gamma)

        proj_w, proj_b = scaled('attn.proj', gamma1)
        fc2_w, fc2_b = scaled('mlp.fc2', gamma2)
        out.update({
            f'{dst}ln1.weight': state[f'{src}norm1.weight'],
            f'{dst}ln1.bias': state[f'{src}norm1.bias'],
            f'{dst}attn.attn.in_proj_weight': state[f'{src}attn.qkv.weight'],
            f'{dst}attn.attn.in_proj_bias': state[f'{src}attn.qkv.bias'],
            f'{dst}attn.attn.out_proj.weight': proj_w,
            f'{dst}attn.attn.out_proj.bias': proj_b,
            f'{dst}ln2.weight': state[f'{src}norm2.weight'],
            f'{dst}ln2.bias': state[f'{src}norm2.bias'],
            f'{dst}ffn.layers.0.0.weight': state[f'{src}mlp.fc1.weight'],
            f'{dst}ffn.layers.0.0.bias': state[f'{src}mlp.fc1.bias'],
            f'{dst}ffn.layers.1.weight': fc2_w,
            f'{dst}ffn.layers.1.bias': fc2_b,
        })
    return out
