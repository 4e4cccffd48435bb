"""The momentum target: EMA copies of online submodules, a component a method opts into."""
from typing import Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..teachers import deterministic_copy, ema_update_
from .base import DenseAlgorithm


class MomentumTarget:
    """Mixin for an ``nn.Module``: target copies of online submodules updated only by EMA.

    This is the built-in EMA teacher of the momentum methods, named ``target`` among the
    model's teachers (:meth:`DenseAlgorithm.teacher_hooks`); it keeps the ``target_<name>``
    state-dict keys of their checkpoints. A method that needs EMA copies under another name
    uses :class:`EMATeacher` in ``teachers``; both update with :func:`ema_update_`.

    The target modules are submodules (``target_backbone``, ``target_neck``, ...) so every
    checkpoint holds them, with ``requires_grad=False``. The number of EMA updates done so far
    is the buffer ``momentum_steps``, also checkpointed, so a resumed run continues its
    momentum schedule exactly (see :class:`MomentumEncoderHook`, which the runner requires
    for every model with this component).

    EMA convention (the papers'): ``target = m * target + (1 - m) * online`` with ``m`` the
    *target momentum* (0.99 -> 1 for PixPro). Only parameters are averaged; BN buffers of the
    target follow its own forward passes, as in the reference code.
    """

    #: Names of the online submodules that have a target copy ``target_<name>``.
    momentum_modules: Tuple[str, ...] = ('backbone', 'neck')

    def init_momentum(self) -> None:
        """Register the step counter (call in ``__init__``, after ``nn.Module.__init__``)."""
        self.register_buffer('momentum_steps', torch.zeros((), dtype=torch.long))
        self._ema_params: Optional[Tuple[List[Tensor], List[Tensor]]] = None

    def build_targets(self, names: Optional[Tuple[str, ...]] = None) -> None:
        """Create ``target_<name>`` copies of ``names`` (default: :attr:`momentum_modules`;
        call at the end of init).

        A target is deterministic: stochastic depth (any module with a ``drop_prob``, such
        as timm's and mmcv's ``DropPath``) is switched off in the copy, as DINO's and NeCo's
        teachers are built without it.
        """
        for name in names or self.momentum_modules:
            target = deterministic_copy(getattr(self, name)).requires_grad_(False)
            setattr(self, f'target_{name}', target)

    def momentum_pairs(self) -> Iterator[Tuple[nn.Module, nn.Module]]:
        for name in self.momentum_modules:
            yield getattr(self, name), getattr(self, f'target_{name}')

    def _paired_params(self) -> Tuple[List[Tensor], List[Tensor]]:
        online, target = [], []
        for o, t in self.momentum_pairs():
            online += list(o.parameters())
            target += list(t.parameters())
        return online, target

    def init_weights(self) -> None:
        """Initialise the online modules, then make each target an exact copy."""
        super().init_weights()
        online, target = self._paired_params()
        with torch.no_grad():
            torch._foreach_copy_(target, online)

    @torch.no_grad()
    def momentum_update(self, target_momentum: float) -> None:
        """``target = m * target + (1 - m) * online`` for every parameter; count the step.

        Args:
            target_momentum: m, the weight kept on the target (1 leaves it unchanged).
        """
        if self._ema_params is None:  # the parameter lists are built once, not per step
            self._ema_params = self._paired_params()
        online, target = self._ema_params
        ema_update_(target, online, target_momentum)
        self.momentum_steps += 1

    def restart_schedule(self) -> None:
        """Set the step counters of schedules (the EMA step, and a subclass's own) to 0.

        Called by :class:`MomentumEncoderHook` when a run starts at iteration 0 with weights
        that carry a count (``load_from`` a pretraining checkpoint); not on resume.
        """
        self.momentum_steps.zero_()


class MomentumAlgorithm(MomentumTarget, DenseAlgorithm):
    """:class:`DenseAlgorithm` with a momentum target of ``backbone`` and ``neck`` (PixPro,
    PixContrast, VADeR, DenseCL, MoCo v2; a method may name more in ``momentum_modules``)."""

    def __init__(self, backbone: dict, neck: dict, data_preprocessor: Optional[dict] = None,
                 init_cfg=None, teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        self.init_momentum()
