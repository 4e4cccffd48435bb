"""The teacher interface: networks that give targets and that the optimizer never touches.

Three kinds share it (:class:`EMATeacher`, :class:`FrozenTeacher`, :class:`SnapshotTeacher`);
an algorithm holds any number of them by name (``teachers=dict(name=dict(type=...))``, see
:meth:`DenseAlgorithm.build_teachers`). What differs between kinds is how the weights come
and change: an exponential moving average of online modules, a file, or a copy of online
modules taken on a schedule. Each kind names the hook that changes its weights
(:attr:`Teacher.required_hook`); the runner checks a model's teachers against its hooks.
"""
import copy
from typing import Dict, Iterable, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor


def deterministic_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` with stochastic depth switched off (any submodule with a
    float ``drop_prob``, such as timm's and mmcv's ``DropPath``): teachers are deterministic,
    as DINO's and NeCo's are built without drop path."""
    out = copy.deepcopy(module)
    for sub in out.modules():
        if isinstance(getattr(sub, 'drop_prob', None), float):
            sub.drop_prob = 0.0
    return out


def parameters_to_buffers(module: nn.Module) -> nn.Module:
    """Turn every parameter of ``module`` into a persistent buffer of the same name, in place.

    The module then has no parameters at all, so nothing can put its weights into an
    optimizer, give them a gradient or make DDP wait for them, while its state-dict keys and
    its forward are unchanged (``self.weight`` is read the same way). Returns ``module``.
    """
    for sub in module.modules():
        for name, param in list(sub._parameters.items()):
            if param is None:
                continue
            del sub._parameters[name]
            sub.register_buffer(name, param.detach().requires_grad_(False))
    return module


@torch.no_grad()
def ema_update_(target: Iterable[Tensor], online: Iterable[Tensor], momentum: float) -> None:
    """``target = m * target + (1 - m) * online`` for matching tensor lists, in place.

    Args:
        target: The averaged tensors.
        online: Tensors of the same shapes, in the same order.
        momentum: m in [0, 1], the weight kept on the target.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'target_momentum must lie in [0, 1], got {momentum}')
    target, online = list(target), list(online)
    torch._foreach_mul_(target, momentum)
    torch._foreach_add_(target, online, alpha=1.0 - momentum)


class Teacher(BaseModule):
    """Base of the teachers: always in eval mode, run without autograd, no gradients.

    A teacher holds one or more named modules (``backbone``, optionally ``neck``); calling
    it runs them in order under ``torch.no_grad()``. A subclass says which hook changes its
    weights during training (:attr:`required_hook`, None for none).
    """

    #: Type name of the hook that keeps this teacher's weights current (None: none needed).
    required_hook: Optional[str] = None

    #: Names of the teacher's modules in call order.
    module_names: Tuple[str, ...] = ()

    def train(self, mode: bool = True) -> 'Teacher':
        """Teachers stay in eval mode (BN statistics and dropout fixed) whatever ``mode``."""
        return super().train(False)

    def named_teacher_modules(self) -> Dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.module_names}

    @torch.no_grad()
    def forward(self, images: Tensor):
        """``(N, 3, H, W)`` -> what the last module returns (the backbone's tuple of maps,
        or the neck's output), computed without autograd."""
        out = images
        for name in self.module_names:
            out = getattr(self, name)(out)
        return out

    def needs_hook(self) -> Optional[str]:
        """The hook this instance needs (a subclass may depend on its options)."""
        return self.required_hook
