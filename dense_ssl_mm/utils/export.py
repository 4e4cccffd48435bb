"""Extract pretrained weights from a pretraining checkpoint for downstream frameworks.

Formats:
- ``mmdet``: a flat, weights-only state dict with the ResNet names shared by mmdet, mmseg and
  torchvision (``conv1.weight``, ``layer1.0.bn1.running_mean``, ...), loadable with
  ``init_cfg=dict(type='Pretrained', checkpoint=...)`` and by
  ``torchvision.models.resnet50().load_state_dict(..., strict=False)`` (only ``fc.*`` missing).
- ``detectron2``: a pickle ``{'model': {name: ndarray}, '__author__': ..., 'matching_heuristics':
  True}`` with detectron2's ResNet names (``stem.conv1.norm.weight``, ``res2.0.conv1.weight``,
  ``res2.0.shortcut.norm.running_var``, ...).
"""
import re
from collections import OrderedDict
from typing import Dict, Tuple

from torch import Tensor

BRANCHES = {'online': '', 'momentum': 'target_'}


def extract_module(state_dict: Dict[str, Tensor], module: str,
                   branch: str = 'online') -> 'OrderedDict[str, Tensor]':
    """The tensors of ``<prefix><module>.`` with that prefix removed.

    Args:
        state_dict: A pretraining model's state dict.
        module: ``'backbone'`` or ``'neck'``.
        branch: ``'online'`` (``backbone.*``) or ``'momentum'`` (``target_backbone.*``).
    """
    if branch not in BRANCHES:
        raise ValueError(f"branch must be one of {tuple(BRANCHES)}, got {branch!r}")
    prefix = f'{BRANCHES[branch]}{module}.'
    out = OrderedDict((k[len(prefix):], v.detach().cpu().clone())
                      for k, v in state_dict.items() if k.startswith(prefix))
    if not out:
        found = sorted({k.split('.', 1)[0] for k in state_dict})
        raise KeyError(f"no tensors under '{prefix}' in the checkpoint (its top-level entries: "
                       f'{found})')
    return out


def load_model_state(path: str) -> Dict[str, Tensor]:
    """The model state dict of a Runner checkpoint (``state_dict``) or of a plain dict."""
    from dense_ssl_mm.utils.checkpoint import load_local_checkpoint
    ckpt = load_local_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f'{path!r} holds no state dict of tensors')
    return state


_D2_RULES: Tuple[Tuple[str, str], ...] = (
    (r'^conv1\.(.*)$', r'stem.conv1.\1'),
    (r'^bn1\.(.*)$', r'stem.conv1.norm.\1'),
    (r'^layer(\d)\.(\d+)\.conv(\d)\.(.*)$', r'res{\1}.\2.conv\3.\4'),
    (r'^layer(\d)\.(\d+)\.bn(\d)\.(.*)$', r'res{\1}.\2.conv\3.norm.\4'),
    (r'^layer(\d)\.(\d+)\.downsample\.0\.(.*)$', r'res{\1}.\2.shortcut.\3'),
    (r'^layer(\d)\.(\d+)\.downsample\.1\.(.*)$', r'res{\1}.\2.shortcut.norm.\3'),
)


def to_detectron2(backbone: Dict[str, Tensor]) -> 'OrderedDict[str, object]':
    """Rename a ResNet state dict to detectron2's names (``layerN`` -> ``res{N+1}``) as numpy.

    ``num_batches_tracked`` counters are dropped (detectron2's FrozenBN/BN have none to load).
    """
    out = OrderedDict()
    for key, value in backbone.items():
        if key.endswith('num_batches_tracked'):
            continue
        for pattern, repl in _D2_RULES:
            if re.match(pattern, key):
                name = re.sub(pattern, repl, key)
                name = re.sub(r'res\{(\d)\}', lambda m: f'res{int(m.group(1)) + 1}', name)
                break
        else:
            raise KeyError(f'no detectron2 name for ResNet key {key!r}')
        out[name] = value.numpy()
    return out
