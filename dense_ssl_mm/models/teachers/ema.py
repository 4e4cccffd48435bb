"""EMA teacher: copies of online modules that follow them by exponential moving average."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.errors import BadInputError
from .base import Teacher, deterministic_copy, ema_update_


@MODELS.register_module()
class EMATeacher(Teacher):
    """Copies of the online modules ``modules`` (e.g. ``('backbone', 'neck')``), updated after
    each optimizer step by :class:`MomentumEncoderHook`: ``target = m * target + (1 - m) *
    online`` (parameters only; BN buffers follow the teacher's own forward passes, as BYOL's
    and PixPro's reference code). The count of updates is the checkpointed buffer
    ``momentum_steps``, so a resumed run continues its momentum schedule exactly.

    The copies are made when the algorithm binds the teacher (:meth:`bind`) and are made
    equal to the online modules again after the algorithm's ``init_weights``.

    Args:
        modules: Names of the online modules to average, in call order.
    """

    required_hook = 'MomentumEncoderHook'

    def __init__(self, modules: Sequence[str] = ('backbone', 'neck')) -> None:
        super().__init__()
        if not modules:
            raise BadInputError('EMATeacher needs at least one online module name, got none')
        self.module_names = tuple(modules)
        self.register_buffer('momentum_steps', torch.zeros((), dtype=torch.long))
        self._online: Optional[Tuple[nn.Module, ...]] = None
        self._params: Optional[Tuple[List[Tensor], List[Tensor]]] = None

    def bind(self, model: nn.Module) -> None:
        """Copy the online modules of ``model`` (a deterministic copy, no gradients)."""
        missing = [n for n in self.module_names
                   if not isinstance(getattr(model, n, None), nn.Module)]
        if missing:
            raise BadInputError(f'EMATeacher: {type(model).__name__} has no online module '
                                f'{missing}; give modules= names of its submodules')
        for name in self.module_names:
            setattr(self, name, deterministic_copy(getattr(model, name)).requires_grad_(False))
        # plain tuple in __dict__: the online modules are not submodules of the teacher
        self.__dict__['_online'] = tuple(getattr(model, n) for n in self.module_names)

    def _paired(self) -> Tuple[List[Tensor], List[Tensor]]:
        if self._params is None:  # built once, not per step
            online = [p for m in self._online for p in m.parameters()]
            target = [p for n in self.module_names for p in getattr(self, n).parameters()]
            self._params = (target, online)
        return self._params

    @torch.no_grad()
    def sync(self) -> None:
        """Make every averaged tensor equal to its online tensor (after initialisation)."""
        target, online = self._paired()
        torch._foreach_copy_(target, online)

    def momentum_update(self, target_momentum: float) -> None:
        """One EMA update with momentum ``target_momentum``; counts the step."""
        target, online = self._paired()
        ema_update_(target, online, target_momentum)
        self.momentum_steps += 1

    def restart_schedule(self) -> None:
        self.momentum_steps.zero_()
