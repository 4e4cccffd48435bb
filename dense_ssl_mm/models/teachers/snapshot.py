"""Snapshot teacher: a frozen copy of online modules, taken on a schedule or from a file."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.checkpoint import read_weights
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_number
from ..utils.strict_pretrained import fit_report, fit_summary
from .base import Teacher, deterministic_copy, parameters_to_buffers


@MODELS.register_module()
class SnapshotTeacher(Teacher):
    """A frozen copy of the online modules ``modules``, refreshed by
    :class:`SnapshotTeacherHook` at the start of iteration ``at`` and then every ``every``
    iterations (DINOv3's Gram teacher: the model as it was, refreshed every 10k iterations).

    ``source`` says what is copied: the online modules (``'online'``) or the modules of
    another teacher of the same algorithm (e.g. the EMA teacher ``'target'``, as DINOv3
    refreshes its Gram teacher from the EMA teacher). A refresh at the start of iteration
    ``i`` copies the weights after optimizer step ``i - 1``; ``at=0`` is the model the run
    starts from (after ``init_cfg`` / ``load_from``). The copy's tensors are buffers (no
    parameters: in no optimizer, no gradient), saved in checkpoints, so a resumed run
    continues with the same snapshot and refreshes at the same iterations.

    With ``checkpoint`` the snapshot is loaded from a file instead (any file
    :func:`~dense_ssl_mm.utils.checkpoint.read_weights` reads; the tensors of the modules
    under ``prefix``, e.g. ``'target_'`` reads ``target_backbone.*`` into
    ``backbone``) and is refreshed only if ``every`` is set.

    Args:
        modules: Names of the online modules copied, in call order.
        source: ``'online'`` or the name of another teacher of the algorithm.
        at: Iteration whose start takes the first snapshot (ignored with ``checkpoint``).
        every: Refresh period in iterations after ``at`` (None: never refreshed).
        checkpoint: A file to load the snapshot from.
        prefix: Key prefix in ``checkpoint`` before each module name (default ``''``).
    """

    required_hook = 'SnapshotTeacherHook'

    def __init__(self, modules: Sequence[str] = ('backbone', ), source: str = 'online',
                 at: int = 0, every: Optional[int] = None, checkpoint: Optional[str] = None,
                 prefix: str = '') -> None:
        super().__init__()
        if not modules:
            raise BadInputError('SnapshotTeacher needs at least one module name, got none')
        self.module_names = tuple(modules)
        self.source = str(source)
        self.at = None if checkpoint is not None else check_number(
            'SnapshotTeacher', 'at', at, 0, integer=True)
        self.every = None if every is None else check_number('SnapshotTeacher', 'every',
                                                             every, 1, integer=True)
        self.checkpoint, self.prefix = checkpoint, prefix
        self.register_buffer('refreshed_at', torch.full((), -1, dtype=torch.long))

    def bind(self, model: nn.Module) -> None:
        """Make the copies' structure from ``model``'s online modules (every source has
        their structure; the values come at a refresh or from ``checkpoint``)."""
        missing = [n for n in self.module_names
                   if not isinstance(getattr(model, n, None), nn.Module)]
        if missing:
            raise BadInputError(f'SnapshotTeacher: {type(model).__name__} has no online module '
                                f'{missing}')
        teachers = getattr(model, 'teachers', {})
        if self.source not in ('online', 'target') and self.source not in teachers:
            raise BadInputError(f"SnapshotTeacher: source {self.source!r} is neither 'online', "
                                f"'target' (a momentum method's EMA) nor a teacher of "
                                f'{type(model).__name__} (built before this one)')
        for name in self.module_names:
            copy = deterministic_copy(getattr(model, name))
            setattr(self, name, parameters_to_buffers(copy))
        self.requires_grad_(False)
        if self.checkpoint is not None:
            self._load_file()

    def _source_modules(self, model: nn.Module):
        if self.source == 'online':
            return [getattr(model, n) for n in self.module_names]
        if self.source == 'target':
            names = [f'target_{n}' for n in self.module_names]
            missing = [n for n in names if not hasattr(model, n)]
            if missing:
                raise BadInputError(f"SnapshotTeacher: source 'target' but "
                                    f'{type(model).__name__} has no {missing}')
            return [getattr(model, n) for n in names]
        owner = model.teachers[self.source]
        return [getattr(owner, n) for n in self.module_names]

    def _load_file(self) -> None:
        try:  # the one reader of weight files (safetensors, DDP saves, Runner checkpoints)
            state, _ = read_weights(self.checkpoint, map_location='cpu')
        except BadInputError as err:
            raise type(err)(f'SnapshotTeacher: {err}') from None
        for name in self.module_names:
            start = f'{self.prefix}{name}.'
            part = {k[len(start):]: v for k, v in state.items() if k.startswith(start)}
            if not part:
                raise BadInputError(f'SnapshotTeacher: {self.checkpoint!r} has no tensor under '
                                    f'{start!r}')
            module = getattr(self, name)
            misfit = fit_summary(fit_report(module.state_dict(), part))
            if misfit:
                raise BadInputError(f'SnapshotTeacher: {self.checkpoint!r} does not fit {name}: '
                                    f'{misfit}')
            module.load_state_dict(part)

    def due(self, iteration: int) -> bool:
        """Whether the start of ``iteration`` takes a snapshot."""
        if self.at is None:
            return self.every is not None and iteration > 0 and iteration % self.every == 0
        if iteration < self.at:
            return False
        return iteration == self.at or (self.every is not None and
                                        (iteration - self.at) % self.every == 0)

    @torch.no_grad()
    def refresh(self, model: nn.Module, iteration: int) -> None:
        """Copy the source modules' current tensors (parameters and buffers) into the
        snapshot; record ``iteration``."""
        for name, module in zip(self.module_names, self._source_modules(model)):
            own = getattr(self, name).state_dict(keep_vars=True)
            theirs = module.state_dict(keep_vars=True)
            keys = list(own)
            torch._foreach_copy_([own[k] for k in keys], [theirs[k].detach() for k in keys])
        self.refreshed_at.fill_(iteration)
