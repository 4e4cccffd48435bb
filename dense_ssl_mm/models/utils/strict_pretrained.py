"""Pretrained initialisation that fails when the weights do not fit the model."""
from typing import Dict, Optional, Sequence

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from torch import Tensor

from dense_ssl_mm.registry import WEIGHT_INITIALIZERS
from dense_ssl_mm.utils.checkpoint import read_weights
from dense_ssl_mm.utils.errors import BadInputError


def fit_report(own: Dict[str, Tensor], loaded: Dict[str, Tensor],
               ignore_prefixes: Sequence[str] = ()) -> Dict[str, list]:
    """Compare a module's state dict with loaded weights.

    Returns:
        ``missing`` (in the module, not in the file), ``unexpected`` (in the file, not in the
        module, except names starting with one of ``ignore_prefixes``) and ``mismatched``
        (``(name, file shape, module shape)``).
    """
    ignore = tuple(ignore_prefixes)
    return dict(
        missing=[k for k in own if k not in loaded],
        unexpected=[k for k in loaded if k not in own and not (ignore and k.startswith(ignore))],
        mismatched=[(k, tuple(loaded[k].shape), tuple(own[k].shape)) for k in own
                    if k in loaded and tuple(loaded[k].shape) != tuple(own[k].shape)])


def fit_summary(report: Dict[str, list], shown: int = 3) -> Optional[str]:
    """A :func:`fit_report` as one phrase (``'N missing [...], N unexpected [...], N of
    another shape [...]'``, ``shown`` names of each), or None when the weights fit."""
    if not (report['missing'] or report['unexpected'] or report['mismatched']):
        return None
    return (f"{len(report['missing'])} missing {report['missing'][:shown]}, "
            f"{len(report['unexpected'])} unexpected {report['unexpected'][:shown]}, "
            f"{len(report['mismatched'])} of another shape {report['mismatched'][:shown]}")


@WEIGHT_INITIALIZERS.register_module(name='StrictPretrained')
class StrictPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` init, except that weights which do not fit are an error.

    mmengine loads with ``strict=False`` and only logs size mismatches, so an R18 export
    loaded into an R50 benchmark trains from a half-random backbone and exits 0. Here any
    mis-shaped tensor is an error, and so is any missing or unexpected key unless allowed.

    Use in configs as ``init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=...)``
    (the ``dense_ssl_mm.`` prefix lets mmdet/mmseg scopes find it).

    The file is read by :func:`~dense_ssl_mm.utils.checkpoint.read_weights`, the reader of
    the ViT import: a flat state dict, a Runner checkpoint, a ``.safetensors`` file, a DDP file
    (``module.`` stripped) or a DINOv2 training checkpoint (its teacher backbone), said in the
    log line of the load.

    Args:
        checkpoint: Path of the weights (flat state dict or Runner checkpoint).
        prefix: Load only the tensors under this prefix (``'backbone.'``), prefix removed.
        map_location: As :func:`torch.load`.
        allow_missing: Deliberate partial loading: module tensors absent from the file keep
            their initialisation.
        allow_unexpected: File tensors the module does not have are ignored (the C4 res5
            head loads its stage from a whole-backbone file).
        ignore_prefixes: File tensors never reported as unexpected (a classifier ``fc.``).
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None, map_location='cpu',
                 allow_missing: bool = False, allow_unexpected: bool = False,
                 ignore_prefixes: Sequence[str] = ('fc.', )) -> None:
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.allow_missing = allow_missing
        self.allow_unexpected = allow_unexpected
        self.ignore_prefixes = tuple(ignore_prefixes)

    def _load(self) -> Dict[str, Tensor]:
        state, self._notes = read_weights(self.checkpoint, map_location=self.map_location)
        if self.prefix is None:
            return state
        picked = {k[len(self.prefix):]: v for k, v in state.items() if k.startswith(self.prefix)}
        if not picked:
            if any(n.startswith('a DINOv2 training checkpoint') for n in self._notes):
                return state  # its backbone was taken out already
            raise BadInputError(f'pretrained weights {self.checkpoint!r} have no tensor under '
                                f'prefix {self.prefix!r} (their names start with '
                                f'{sorted({k.split(".")[0] for k in state})[:8]})')
        return picked

    def __call__(self, module) -> None:
        loaded = self._load()
        own = module.state_dict()
        report = fit_report(own, loaded, self.ignore_prefixes)
        problems = []
        if report['mismatched']:
            shown = '; '.join(f'{k}: file {a} vs model {b}' for k, a, b in report['mismatched'][:5])
            problems.append(f"{len(report['mismatched'])} tensors of another shape ({shown})")
        for kind, allowed in (('missing', self.allow_missing),
                              ('unexpected', self.allow_unexpected)):
            if report[kind] and not allowed:
                problems.append(f'{len(report[kind])} {kind} keys (e.g. {report[kind][:5]}; '
                                f'allow_{kind}=True to accept)')
        if problems:
            raise BadInputError(f'pretrained weights {self.checkpoint!r} do not fit '
                                f'{type(module).__name__}: ' + '; '.join(problems))
        module.load_state_dict({k: v for k, v in loaded.items() if k in own}, strict=False)
        print_log(f'loaded {sum(k in own for k in loaded)} tensors from {self.checkpoint} '
                  f'into {type(module).__name__} ({len(report["missing"])} missing, '
                  f'{len(report["unexpected"])} unexpected, all allowed'
                  + ''.join(f'; {note}' for note in self._notes) + ')', logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
