"""PixPro trains exactly as the official code (zdaxie/PixPro), float64, several steps.

Two copies of the same small PixPro start from the same weights and see the same batches.
Ours trains with :class:`LARS` and :class:`MomentumEncoderHook`; the other with a transcription
of the official update rule: ``torch.optim.SGD`` wrapped by the reference's LARS (per tensor:
``g += wd * w``; ``g *= trust * ||w|| / (||g|| + 1e-8)`` where both norms are positive; 1-D
tensors in a group with no decay and no adaptation), and the reference's EMA: at the start of
iteration ``i``, before the key forward, ``target = m(i) * target + (1 - m(i)) * online`` with
``m(i) = 1 - (1 - m0) * (cos(pi * i / K) + 1) / 2``. After every step the weights, the target
weights, the target's BN statistics and the momentum buffers of both must agree within 1e-12.
The same comparison with LARS's epsilon removed, or with the hook's old index (``m(t)`` after
step ``t``), must *not* agree: that shows the test sees both differences.
"""
import math
from types import SimpleNamespace

import torch
from mmengine.optim import OptimWrapper

from dense_ssl_mm.engine.hooks import MomentumEncoderHook
from dense_ssl_mm.engine.optimizers import LARS
from dense_ssl_mm.registry import MODELS
from tests.helpers import fixed_batch, tiny_model_cfg

LR, MOMENTUM, WD, TRUST, M0 = 1.0, 0.9, 1e-5, 0.001, 0.99
STEPS, TOTAL = 6, 10  # K > STEPS, so every update uses a momentum strictly below 1


def reference_param_groups(model):
    """The official ``add_weight_decay``: 1-D tensors get no decay and are ignored by LARS."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim == 1 else decay).append(p)
    return [dict(params=no_decay, weight_decay=0.0, ignore=True),
            dict(params=decay, weight_decay=WD, ignore=False)]


@torch.no_grad()
def reference_lars_step(sgd, eps=1e-8):
    """The official ``LARS.step``: adapt the gradients per tensor, then SGD without decay."""
    for group in sgd.param_groups:
        for p in group['params']:
            if p.grad is None:
                continue
            if group['weight_decay'] > 0:
                p.grad = p.grad.add(p, alpha=group['weight_decay'])
            if not group['ignore']:
                w_norm, g_norm = p.norm(), p.grad.norm()
                if w_norm > 0 and g_norm > 0:
                    p.grad = p.grad.mul(TRUST * w_norm / (g_norm + eps))
    decays = [g['weight_decay'] for g in sgd.param_groups]
    for g in sgd.param_groups:
        g['weight_decay'] = 0
    sgd.step()
    for g, wd in zip(sgd.param_groups, decays):
        g['weight_decay'] = wd


@torch.no_grad()
def reference_ema(model, k):
    m = 1.0 - (1.0 - M0) * (math.cos(math.pi * k / TOTAL) + 1.0) / 2.0
    for name in ('backbone', 'neck'):
        for q, t in zip(getattr(model, name).parameters(),
                        getattr(model, f'target_{name}').parameters()):
            t.data = t.data * m + q.data * (1.0 - m)


def batch(step):
    out = {k: v.double() if v.is_floating_point() else v
           for k, v in fixed_batch(4, size=64, seed=step).items()}
    out['image_sizes'] = torch.full((4, 2), 80.0, dtype=torch.float64)  # (h, w) of the image
    return out


def max_differences(ours, theirs, opt_ours, opt_theirs):
    state_ours, state_theirs = ours.state_dict(), theirs.state_dict()
    weights = max(float((state_ours[k].double() - state_theirs[k].double()).abs().max())
                  for k in state_ours if state_ours[k].is_floating_point())
    bufs_theirs = {id(p): opt_theirs.state[p]['momentum_buffer']
                   for g in opt_theirs.param_groups for p in g['params']}
    ours_params = dict(ours.named_parameters())
    buffers = 0.0
    for name, p in theirs.named_parameters():
        if p.requires_grad:
            mine = opt_ours.state[ours_params[name]]['momentum_buffer']
            buffers = max(buffers, float((mine - bufs_theirs[id(p)]).abs().max()))
    return weights, buffers


def train_side_by_side(lars_eps=1e-8, index_shift=0):
    """Largest differences (weights incl. targets and BN statistics, momentum buffers)."""
    cfg = tiny_model_cfg()
    cfg['backbone']['zero_init_residual'] = True  # zero last-BN scales: tiny first updates
    cfg['head']['matcher'] = dict(type='GeometricPositives', distance='reference')
    torch.manual_seed(0)
    ours = MODELS.build(cfg)
    ours.init_weights()
    ours.double().train()
    theirs = MODELS.build(cfg).double().train()
    theirs.load_state_dict(ours.state_dict())

    wrapper = OptimWrapper(LARS(ours.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD,
                                eta=TRUST, eps=lars_eps))
    hook = MomentumEncoderHook(base_target_momentum=M0)
    if index_shift:
        schedule = hook.target_momentum
        hook.target_momentum = lambda step, total: schedule(step + index_shift, total)
    runner = SimpleNamespace(model=ours, optim_wrapper=wrapper, max_iters=TOTAL, iter=0,
                             message_hub=SimpleNamespace(update_scalar=lambda *a: None))
    hook.before_train(runner)
    sgd = torch.optim.SGD(reference_param_groups(theirs), lr=LR, momentum=MOMENTUM)

    worst = (0.0, 0.0)
    reference_ema(theirs, 0)  # the official iteration 0 starts with an EMA of equal weights
    for step in range(STEPS):
        losses = ours(batch(step), mode='loss')
        wrapper.update_params(ours.parse_losses(losses)[0])
        hook.after_train_iter(runner, step)

        loss, _ = theirs.parse_losses(theirs(batch(step), mode='loss'))
        sgd.zero_grad()
        loss.backward()
        reference_lars_step(sgd)
        reference_ema(theirs, step + 1)  # the official order: next iteration's EMA, forward

        diff = max_differences(ours, theirs, wrapper.optimizer, sgd)
        worst = tuple(max(a, b) for a, b in zip(worst, diff))
    return worst


def test_pixpro_trains_as_the_official_update_rule():
    weights, buffers = train_side_by_side()
    assert weights < 1e-12 and buffers < 1e-12, (weights, buffers)


def test_parity_test_sees_lars_epsilon_and_the_schedule_index():
    assert max(train_side_by_side(lars_eps=0.0)) > 1e-10  # no epsilon: the BN-scale convs
    assert max(train_side_by_side(index_shift=-1)) > 1e-10  # m(t) after step t: targets
