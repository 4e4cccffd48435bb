"""LARS (You et al., 2017): layer-wise adaptive learning rates, as in the PixPro recipe.

mmengine, mmcv, mmdet and mmseg provide no LARS, so it is written here.
"""
from typing import Callable, Iterable, Optional

import torch
from torch.optim import Optimizer

from dense_ssl_mm.registry import OPTIMIZERS
from dense_ssl_mm.utils.validation import check_number


@OPTIMIZERS.register_module()
class LARS(Optimizer):
    """SGD with momentum whose update of each tensor is rescaled by a trust ratio.

    For a tensor ``w`` with gradient ``g``: ``d = g + wd * w``;
    ``d = d * eta * ||w|| / (||d|| + eps)`` (ratio 1 where a norm is 0); ``v = mu * v + d``
    (``v = d`` at the first step); ``w = w - lr * v``. This is the update of the official
    PixPro code (``contrast/lars.py`` wrapping ``torch.optim.SGD``), epsilon included: it
    matters most where ``d`` is tiny, e.g. the convs before a zero-initialised last BN scale,
    whose first updates are weight decay alone. Tensors that are excluded (1-D ones, i.e.
    biases and norm weights, when ``exclude_bias_and_norm``; or any parameter group with
    ``lars_exclude=True``) get neither weight decay nor the trust ratio: plain momentum SGD.

    Args:
        params: Parameters or parameter groups.
        lr: Learning rate.
        momentum: Momentum ``mu``.
        weight_decay: Weight decay of the adapted tensors.
        eta: Trust coefficient (0.001 in the reference).
        exclude_bias_and_norm: Exclude 1-D tensors from decay and adaptation.
        eps: Added to ``||d||`` in the trust ratio's denominator (1e-8 in the reference).
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.9,
                 weight_decay: float = 0.0, eta: float = 0.001,
                 exclude_bias_and_norm: bool = True, eps: float = 1e-8) -> None:
        check_number('LARS', 'lr', lr, 0)
        check_number('LARS', 'momentum', momentum, 0, 1, high_open=True)
        check_number('LARS', 'weight_decay', weight_decay, 0)
        check_number('LARS', 'eta', eta, 0, low_open=True)
        check_number('LARS', 'eps', eps, 0)
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta, eps=eps,
                        exclude_bias_and_norm=exclude_bias_and_norm, lars_exclude=False)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        # An optimizer state saved before ``eps`` existed has groups without it: they take
        # this optimizer's own value (its constructor's).
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('eps', self.defaults['eps'])

    @torch.no_grad()
    def step(self, closure: Optional[Callable] = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            adapted, plain = [], []
            for p in group['params']:
                if p.grad is None:
                    continue
                excluded = group['lars_exclude'] or (group['exclude_bias_and_norm']
                                                     and p.ndim <= 1)
                (plain if excluded else adapted).append(p)
            updates = [p.grad for p in plain]
            if adapted:
                grads = [p.grad for p in adapted]
                if group['weight_decay'] != 0:
                    grads = torch._foreach_add(grads, adapted, alpha=group['weight_decay'])
                w_norms = torch.stack(torch._foreach_norm(adapted))
                g_norms = torch.stack(torch._foreach_norm(grads))
                trust = torch.where((w_norms > 0) & (g_norms > 0),
                                    group['eta'] * w_norms / (g_norms + group['eps']),
                                    torch.ones_like(w_norms))
                updates += torch._foreach_mul(grads, list(trust.unbind()))
            params = plain + adapted
            if not params:
                continue
            bufs = []
            for p, d in zip(params, updates):
                state = self.state[p]
                if 'momentum_buffer' not in state:
                    state['momentum_buffer'] = d.detach().clone()
                else:
                    state['momentum_buffer'].mul_(group['momentum']).add_(d)
                bufs.append(state['momentum_buffer'])
            torch._foreach_add_(params, bufs, alpha=-group['lr'])
        return loss
