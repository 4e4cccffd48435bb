"""ViT checkpoint layouts -> this project's ViT (timm's names): pure functions.

See ``../shared/docs/vit.md`` for the layouts. The official DINOv2 files
(``dinov2_vits14_pretrain.pth``, ``dinov2_vits14_reg4_pretrain.pth``, ...) use timm's block
names already (``blocks.N.norm1``, ``attn.qkv``, ``ls1.gamma``, ``mlp.fc1``, ...); they
differ in three places, converted here: a ``mask_token`` (training-only, dropped), and in
register models ``register_tokens`` (timm: ``reg_token``) and a positional embedding with a
class slot, which timm's register models fold into ``cls_token`` (registers and patches
follow the class token; only patches carry a position).
"""
from typing import Dict

from torch import Tensor


def is_dinov2_layout(state: Dict[str, Tensor]) -> bool:
    """A state dict in the official DINOv2 layout (it has the training-only mask token)."""
    return 'mask_token' in state


def dinov2_to_vit(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """An official DINOv2 state dict (with or without registers) in :class:`ViT`'s names.

    Raises:
        ValueError: for the SwiGLU MLP of the g/14 model (not supported by :class:`ViT`).
    """
    if any('.mlp.w12.' in k for k in state):
        raise ValueError('a DINOv2 giant checkpoint (SwiGLU MLP, mlp.w12 / mlp.w3): ViT '
                         'supports the tiny / small / base / large MLP layouts')
    out = {k: v for k, v in state.items() if k != 'mask_token'}
    if 'register_tokens' in out:
        out['reg_token'] = out.pop('register_tokens')
        pos = out['pos_embed']
        out['cls_token'] = out['cls_token'] + pos[:, :1]
        out['pos_embed'] = pos[:, 1:]
    return out
