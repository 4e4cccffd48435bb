"""Frozen teacher: any registered backbone (+ neck) built from its own config and file."""
import hashlib
import os.path as osp
from typing import Dict, List, Optional

from mmengine.logging import print_log
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.checkpoint import read_weights
from dense_ssl_mm.utils.errors import BadInputError
from ..utils.strict_pretrained import fit_report, fit_summary
from .base import Teacher, parameters_to_buffers


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, read in 4 MiB chunks (a multi-GB teacher file is never in memory)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


@MODELS.register_module()
class FrozenTeacher(Teacher):
    """A fixed network of any architecture: a ViT teacher for a ResNet student, a DINOv2
    file, a checkpoint this project pretrained.

    The modules are built from their own configs (``backbone``, optional ``neck``), with the
    backbone's own ``init_cfg`` (e.g. a DINOv2 file for :class:`ViT`) applied at build time,
    then ``checkpoint`` (if given) loaded strictly (any file
    :func:`~dense_ssl_mm.utils.checkpoint.read_weights` reads: a Runner checkpoint, a flat
    state dict, ``.safetensors``, a DDP save; ``prefix`` selects e.g. ``'backbone.'``). The
    teacher then has no parameters (its weights are buffers, :func:`parameters_to_buffers`):
    it is in no optimizer and gets no gradient; it runs in eval mode without autograd.

    Checkpoints: with ``store_weights=False`` (default) a training checkpoint holds no tensor
    of the teacher, only its sources (paths and SHA-256 of the files its weights came from,
    as ``<name>._extra_state``); loading such a checkpoint keeps the weights read at build
    time and refuses a source file whose content changed since (exact resume needs the same
    teacher). With ``store_weights=True`` the tensors are saved and loaded like any others.

    Args:
        backbone: Backbone config (any registered backbone, e.g. ``ViT``, ``ResNet``).
        neck: Optional neck config, applied to the backbone's output.
        checkpoint: Optional weights file for the teacher's modules (keys ``backbone.*`` and
            ``neck.*``, or with ``prefix`` only the backbone's keys under it).
        prefix: Read only tensors under this prefix of ``checkpoint`` (prefix removed) into
            the backbone, e.g. ``'target_backbone.'`` for a pretraining run's EMA teacher.
        store_weights: Save the teacher's tensors in training checkpoints.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 checkpoint: Optional[str] = None, prefix: Optional[str] = None,
                 store_weights: bool = False) -> None:
        super().__init__()
        self.backbone = MODELS.build(backbone)
        names = ['backbone']
        if neck is not None:
            self.neck = MODELS.build(neck)
            names.append('neck')
        self.module_names = tuple(names)
        sources: List[str] = []
        for name in names:  # each module's own initialisation (a DINOv2 file for a ViT)
            module = getattr(self, name)
            if hasattr(module, 'init_weights'):
                module.init_weights()
            init_file = (getattr(module, 'init_cfg', None) or {})
            if isinstance(init_file, dict) and init_file.get('checkpoint'):
                sources.append(str(init_file['checkpoint']))
        if checkpoint is not None:
            self._load(checkpoint, prefix)
            sources.append(str(checkpoint))
        parameters_to_buffers(self)
        self.requires_grad_(False)
        self.is_init = True  # the algorithm's init_weights must not re-initialise it
        self.store_weights = bool(store_weights)
        self.sources: Dict[str, str] = {path: file_sha256(path) for path in sources}
        self.eval()
        # the tensor keys as the state dict names them (before the hooks below drop them)
        self._tensor_keys = [k for k in self.state_dict() if not k.endswith('_extra_state')]
        if not self.store_weights:
            self._register_state_dict_hook(_drop_own_tensors)
            self._register_load_state_dict_pre_hook(_fill_own_tensors, with_module=True)

    def _load(self, path: str, prefix: Optional[str]) -> None:
        try:  # the one reader of weight files (safetensors, DDP saves, Runner checkpoints)
            state, notes = read_weights(path, map_location='cpu')
        except BadInputError as err:
            raise type(err)(f'FrozenTeacher: {err}') from None
        if prefix is not None:
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if not state:
                raise BadInputError(f'FrozenTeacher: {path!r} has no tensor under {prefix!r}')
            state = {f'backbone.{k}': v for k, v in state.items()}
            names = ('backbone', )
        else:
            names = self.module_names
        # the modules' own state dicts (this teacher's extra state is not yet set up here)
        own = {f'{name}.{k}': v for name in names
               for k, v in getattr(self, name).state_dict().items()}
        misfit = fit_summary(fit_report(own, state))
        if misfit:
            raise BadInputError(f'FrozenTeacher: {path!r} does not fit the teacher: {misfit}')
        for name in names:
            start = f'{name}.'
            getattr(self, name).load_state_dict(
                {k[len(start):]: v for k, v in state.items() if k.startswith(start)})
        read = f' ({"; ".join(notes)})' if notes else ''
        print_log(f'FrozenTeacher: loaded {len(state)} tensors from {path}{read}',
                  logger='current')

    def get_extra_state(self) -> dict:
        return dict(sources=dict(self.sources), store_weights=self.store_weights)

    def set_extra_state(self, state: dict) -> None:
        saved = dict(state.get('sources', {})) if isinstance(state, dict) else {}
        if self.store_weights:
            return
        for path, digest in saved.items():
            now = self.sources.get(path)
            if now is None and osp.isfile(path):
                now = file_sha256(path)
            if now != digest:
                raise BadInputError(
                    f'FrozenTeacher: the checkpoint was trained with teacher file {path!r} of '
                    f'SHA-256 {digest[:12]}..., but that file now has '
                    f'{"none (missing)" if now is None else now[:12] + "..."}; restore the '
                    'original file (a resumed run needs the same teacher)')


def _tensor_at(module, dotted: str) -> Tensor:
    *path, leaf = dotted.split('.')
    for name in path:
        module = getattr(module, name)
    return getattr(module, leaf)


def _drop_own_tensors(module, state_dict, prefix, local_metadata):
    for key in module._tensor_keys:
        state_dict.pop(prefix + key, None)
    return state_dict


def _fill_own_tensors(module, state_dict, prefix, local_metadata, strict, missing, unexpected,
                      errors):
    """Loading a checkpoint without the teacher's tensors keeps the ones read at build."""
    for key in module._tensor_keys:
        state_dict.setdefault(prefix + key, _tensor_at(module, key))
