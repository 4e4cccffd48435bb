"""Extract pretrained weights from a pretraining checkpoint for downstream frameworks.

Formats:
- ``mmdet``: a flat, weights-only state dict with the ResNet names shared by mmdet, mmseg and
  torchvision (``conv1.weight``, ``layer1.0.bn1.running_mean``, ...), loadable with
  ``init_cfg=dict(type='Pretrained', checkpoint=...)`` and by
  ``torchvision.models.resnet50().load_state_dict(..., strict=False)`` (only ``fc.*`` missing).
- ``mmseg-vit``: a :class:`ViT` backbone in mmseg's ``VisionTransformer`` names, LayerScale
  folded into the projections (``vit_layouts.vit_to_mmseg``), for UPerNet and friends.
- ``dinov2``: a :class:`ViT` backbone in the official DINOv2 layout
  (``vit_layouts.vit_to_dinov2``): a NeCo-post-trained ViT goes back to every tool that
  reads DINOv2's release files.
- ``detectron2``: a pickle ``{'model': {name: ndarray}, '__author__': ..., 'matching_heuristics':
  True}`` with detectron2's ResNet names (``stem.conv1.norm.weight``, ``res2.0.conv1.weight``,
  ``res2.0.shortcut.norm.running_var``, ...).
"""
import io
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from dense_ssl_mm.models.backbones.vit_layouts import (dinov2_to_vit, is_dinov2_layout,
                                                       vit_to_dinov2, vit_to_mmseg)
from dense_ssl_mm.utils.checkpoint import atomic_write_files, read_weights
from dense_ssl_mm.utils.errors import BadInputError, BadInputKeyError
from dense_ssl_mm.utils.finite import non_finite_names

BRANCHES = {'online': '', 'momentum': 'target_'}
LAYOUTS = ('mmdet', 'mmseg-vit', 'dinov2')
VIT_LAYOUTS = {'mmseg-vit': vit_to_mmseg, 'dinov2': vit_to_dinov2}


def extract_module(state_dict: Dict[str, Tensor], module: str,
                   branch: str = 'online') -> 'OrderedDict[str, Tensor]':
    """The tensors of ``<prefix><module>.`` with that prefix removed.

    Args:
        state_dict: A pretraining model's state dict.
        module: ``'backbone'`` or ``'neck'``.
        branch: ``'online'`` (``backbone.*``) or ``'momentum'`` (``target_backbone.*``).
    """
    if branch not in BRANCHES:
        raise BadInputError(f"branch must be one of {tuple(BRANCHES)}, got {branch!r}")
    prefix = f'{BRANCHES[branch]}{module}.'
    out = OrderedDict((k[len(prefix):], v.detach().cpu().clone())
                      for k, v in state_dict.items() if k.startswith(prefix))
    if not out:
        found = sorted({k.split('.', 1)[0] for k in state_dict})
        raise BadInputKeyError(f"no tensors under '{prefix}' in the checkpoint (its top-level "
                               f'entries: {found})')
    return out


#: ``branch`` of the export -> the network of a DINOv2 training checkpoint (its EMA teacher is
#: the momentum encoder; the default, None, takes the teacher as the ViT import does).
TRAINING_BRANCH = {None: 'teacher', 'momentum': 'teacher', 'online': 'student'}


def backbone_of(checkpoint: str, branch: Optional[str] = None
                ) -> Tuple['OrderedDict[str, Tensor]', Dict[str, Tensor], List[str]]:
    """The backbone tensors of any file the ViT import reads, in the backbone's own names.

    A pretraining checkpoint (``backbone.*`` / ``target_backbone.*``) gives its ``branch``
    (``'online'`` by default); a ViT file the ViT import reads (an official DINOv2 release
    file, ``.safetensors``, a DDP save, a DINOv2 training checkpoint, a flat ViT state dict)
    is that backbone, DINOv2 names converted to :class:`ViT`'s. Anything else is refused
    with the checkpoint's top-level entries (BadInputKeyError, a KeyError).

    Returns:
        ``(backbone, whole state, notes)``: the whole state serves ``--neck``.
    """
    if branch not in TRAINING_BRANCH:
        raise BadInputError(f"branch must be one of {tuple(BRANCHES)}, got {branch!r}")
    state, notes = read_weights(checkpoint, branch=TRAINING_BRANCH[branch])
    if any(k.startswith(f'{prefix}backbone.') for prefix in BRANCHES.values() for k in state):
        return extract_module(state, 'backbone', branch or 'online'), state, notes
    backbone = OrderedDict((k, v.detach().cpu().clone()) for k, v in state.items())
    if is_dinov2_layout(backbone):
        backbone = OrderedDict(dinov2_to_vit(backbone))
        notes.append('the official DINOv2 layout')
    if 'patch_embed.proj.weight' not in backbone:  # not a ViT the import reads either
        extract_module(state, 'backbone', branch or 'online')  # raises, naming the entries
    return backbone, state, notes


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
            raise BadInputKeyError(f'no detectron2 name for ResNet key {key!r}')
        out[name] = value.numpy()
    return out


def _check_outputs(checkpoint: str, outputs: Dict[str, str]) -> None:
    """Refuse outputs that are folders, the input itself (also through links) or repeated."""
    seen = {}
    for option, path in outputs.items():
        if osp.isdir(path):
            raise BadInputError(f'{option} {path!r} is a folder; give a file name, e.g. '
                                f'{osp.join(path, "backbone.pth")!r}')
        if osp.exists(path) and osp.samefile(path, checkpoint):
            raise BadInputError(f'{option} {path!r} is the input checkpoint {checkpoint!r}; '
                                'exporting over it would destroy the training checkpoint')
        real = osp.realpath(path)
        if real in seen:
            raise BadInputError(f'{seen[real]} and {option} are the same file {path!r}')
        seen[real] = option


def export_checkpoint(checkpoint: str, out: str, branch: Optional[str] = None,
                      detectron2: Optional[str] = None,
                      neck: Optional[str] = None, layout: str = 'mmdet',
                      notes: Optional[list] = None) -> Dict[str, int]:
    """Export a pretraining checkpoint's backbone (and optionally its neck), all or nothing.

    Every output is built in memory and checked first (no NaN/inf weight, no output that is
    the input or a folder); then all files are written atomically together, so a failure
    leaves none of them half-written or missing while others are new.

    Any file the ViT import reads exports to every layout: besides pretraining checkpoints,
    an official DINOv2 release file (``.pth`` / ``.safetensors``), a DDP save or a DINOv2
    training checkpoint (:func:`backbone_of`).

    Args:
        checkpoint: Runner checkpoint (``state_dict``), plain state dict, or a backbone file.
        out: Output ``.pth`` (mmdet / mmseg / torchvision names).
        branch: ``'online'`` or ``'momentum'``; None: ``'online'`` of a pretraining
            checkpoint, the teacher of a DINOv2 training checkpoint (``'online'``: its
            student).
        detectron2: Optional output ``.pkl`` with detectron2's names.
        neck: Optional output ``.pth`` of the neck's FPN (VADeR's decoder, for mmdet's FPN).
        layout: ``'mmdet'`` (the backbone's own names: ResNet for mmdet / mmseg /
            torchvision), ``'mmseg-vit'`` (a ViT for mmseg's ``VisionTransformer``) or
            ``'dinov2'`` (a ViT in the official DINOv2 layout).
        notes: A list that receives what the reader found (DDP prefix, training checkpoint
            branch, layout), for the tool's one line.

    Returns:
        ``{path: number of tensors written}``.
    """
    outputs = {'output': out, '--detectron2': detectron2, '--neck': neck}
    _check_outputs(checkpoint, {k: v for k, v in outputs.items() if v})
    if layout not in LAYOUTS:
        raise BadInputError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    if layout != 'mmdet' and (detectron2 or neck):
        raise BadInputError(f"--detectron2 and --neck export ResNet / FPN weights; layout "
                            f"{layout!r} exports a ViT alone")
    backbone, state, found = backbone_of(checkpoint, branch)
    if notes is not None:
        notes.extend(found)
    branch = branch or 'online'
    parts = {out: backbone}
    if layout in VIT_LAYOUTS:
        if 'patch_embed.proj.weight' not in parts[out]:
            raise BadInputError(f'layout {layout!r} exports a ViT backbone; {checkpoint!r} has '
                                f'another one (e.g. {next(iter(parts[out]))})')
        parts[out] = OrderedDict(VIT_LAYOUTS[layout](parts[out]))
    if neck:  # VADeR's decoder holds an mmdet FPN as `neck.fpn`: it loads into mmdet's FPN.
        parts[neck] = extract_module(state, 'neck.fpn', branch)
    for path, tensors in parts.items():
        bad = non_finite_names(tensors.items())
        if bad:
            raise BadInputError(f'{checkpoint!r} has non-finite (NaN/inf) {branch} weights in '
                                f'{len(bad)} tensors, e.g. {bad[:3]}: the run diverged; export an '
                                'earlier checkpoint')
    blobs, counts = {}, {}
    for path, tensors in parts.items():
        blobs[path], counts[path] = _torch_bytes(dict(tensors)), len(tensors)
    if detectron2:
        model = to_detectron2(parts[out])
        blob = {'model': model, '__author__': f'dense_ssl_mm ({branch} backbone of '
                f'{checkpoint})', 'matching_heuristics': True}
        blobs[detectron2], counts[detectron2] = pickle.dumps(blob), len(model)
    atomic_write_files(blobs)
    return {path: counts[path] for path in blobs}


def write_random_dinov2(out: str, arch: str = 'small', patch_size: int = 14,
                        reg_tokens: int = 0, seed: int = 0,
                        layer_scale: float = 1.0) -> Dict[str, int]:
    """Write a ViT with random weights in the official DINOv2 layout, as the release files
    (``dinov2_vits14_pretrain.pth`` and friends: 518 px positions, LayerScale) are laid out.

    Nothing can be downloaded in tests and demos: this file stands in for a release file so
    that the whole path (DINOv2 file -> ``init_cfg`` -> NeCo -> export) runs. Its tokens are
    meaningless; the real file goes in its place unchanged.

    Args:
        out: Output ``.pth``.
        arch: ``'tiny'``, ``'small'``, ``'base'`` or ``'large'``.
        patch_size: 14 as DINOv2.
        reg_tokens: 0, or 4 as DINOv2 with registers.
        seed: Seed of the random weights.
        layer_scale: Value of every LayerScale gamma (1.0: the blocks act fully).
    """
    from dense_ssl_mm.models.backbones.vit import ViT  # a model, built only here
    torch.manual_seed(seed)
    model = ViT(arch=arch, patch_size=patch_size, img_size=518, reg_tokens=reg_tokens,
                layer_scale=layer_scale)
    state = vit_to_dinov2({k: v.detach().clone() for k, v in model.state_dict().items()})
    atomic_write_files({out: _torch_bytes(state)})
    return {out: len(state)}


def _torch_bytes(obj) -> bytes:
    """``torch.save(obj)`` into memory, for :func:`atomic_write_files`."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()
