"""MomentumEncoderHook: schedule ends, accumulation, the step counter, the logged value."""
import math
from types import SimpleNamespace

import pytest
import torch

from dense_ssl_mm.engine.hooks import MomentumEncoderHook
from ..helpers import build_tiny


def test_cosine_schedule_ends_and_midpoint():
    hook = MomentumEncoderHook(base_target_momentum=0.99, end_target_momentum=1.0)
    assert hook.target_momentum(0, 100) == pytest.approx(0.99)
    assert hook.target_momentum(50, 100) == pytest.approx(0.995)
    assert hook.target_momentum(100, 100) == pytest.approx(1.0)
    assert hook.target_momentum(25, 100) == pytest.approx(
        1 - 0.01 * (math.cos(math.pi / 4) + 1) / 2)
    const = MomentumEncoderHook(base_target_momentum=0.999, schedule='constant')
    assert const.target_momentum(0, 10) == const.target_momentum(9, 10) == 0.999


def test_hook_rejects_bad_values():
    with pytest.raises(ValueError, match=r'base_target_momentum must lie in \[0, 1\], got 1.2'):
        MomentumEncoderHook(base_target_momentum=1.2)
    with pytest.raises(ValueError, match="schedule must be one of .*got 'linear'"):
        MomentumEncoderHook(schedule='linear')


class FakeWrapper:
    def __init__(self, accumulate):
        self._accumulative_counts = accumulate
        self._inner_count = 0

    def should_update(self):
        return self._inner_count % self._accumulative_counts == 0


class FakeHub:
    def __init__(self):
        self.scalars = {}

    def update_scalar(self, key, value):
        self.scalars[key] = value


def test_hook_applies_scheduled_ema_only_on_optimizer_steps():
    model = build_tiny()
    runner = SimpleNamespace(model=model, optim_wrapper=FakeWrapper(2), max_iters=8, iter=0,
                             message_hub=FakeHub())
    hook = MomentumEncoderHook(base_target_momentum=0.9)
    hook.before_train(runner)
    assert hook.total_steps == 4
    for it in range(8):
        runner.optim_wrapper._inner_count = it + 1
        online = {n: p.clone() for n, p in model.backbone.named_parameters()}
        before = {n: p.clone() for n, p in model.target_backbone.named_parameters()}
        with torch.no_grad():  # a fake optimizer step: move the online network
            for p in model.backbone.parameters():
                p.add_(0.01)
        online = {n: p.clone() for n, p in model.backbone.named_parameters()}
        steps = int(model.momentum_steps)
        hook.after_train_iter(runner, it)
        if (it + 1) % 2:
            assert int(model.momentum_steps) == steps
            continue
        m = hook.target_momentum(steps + 1, 4)  # after optimizer step t: m(t + 1)
        assert runner.message_hub.scalars['train/target_momentum'] == m
        for n, p in model.target_backbone.named_parameters():
            assert torch.allclose(p, m * before[n] + (1 - m) * online[n], atol=1e-6)
    assert int(model.momentum_steps) == 4
    assert runner.message_hub.scalars['train/target_momentum'] == pytest.approx(
        hook.target_momentum(4, 4))
