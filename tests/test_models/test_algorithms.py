"""PixPro / PixContrast: target gets no gradient, EMA formula, loss falls on a fixed batch."""
import pytest
import torch

from dense_ssl_mm.engine.optimizers import LARS
from ..helpers import build_tiny, fixed_batch


@pytest.mark.parametrize('algorithm', ['PixPro', 'PixContrast'])
def test_target_gets_no_gradient_and_starts_equal(algorithm):
    model = build_tiny(algorithm)
    for name in ('backbone', 'neck'):
        online, target = getattr(model, name), getattr(model, f'target_{name}')
        for (n, p), t in zip(online.named_parameters(), target.parameters()):
            assert not t.requires_grad, n
            assert torch.equal(p, t), n
    losses = model(fixed_batch(), mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith('target_'))
    grads = [p.grad for n, p in model.named_parameters() if n.startswith('backbone.')]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_momentum_update_is_exact_ema():
    model = build_tiny()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p))
    online = {n: p.clone() for n, p in model.backbone.named_parameters()}
    before = {n: p.clone() for n, p in model.target_backbone.named_parameters()}
    buffers = {n: b.clone() for n, b in model.target_backbone.named_buffers()}
    model.momentum_update(0.9)
    for n, p in model.target_backbone.named_parameters():
        assert torch.allclose(p, 0.9 * before[n] + 0.1 * online[n], atol=1e-6), n
    for n, b in model.target_backbone.named_buffers():  # BN buffers are not averaged
        assert torch.equal(b, buffers[n]), n
    assert int(model.momentum_steps) == 1
    model.momentum_update(1.0)  # m = 1 keeps the target
    for n, p in model.target_backbone.named_parameters():
        assert torch.allclose(p, 0.9 * before[n] + 0.1 * online[n], atol=1e-6), n
    model.momentum_update(0.0)  # m = 0 copies the online network
    for n, p in model.target_backbone.named_parameters():
        assert torch.equal(p, online[n]), n
    with pytest.raises(ValueError, match=r'target_momentum must lie in \[0, 1\], got 1.5'):
        model.momentum_update(1.5)


@pytest.mark.parametrize('algorithm', ['PixPro', 'PixContrast'])
def test_loss_falls_on_fixed_batch(algorithm):
    model = build_tiny(algorithm)
    model.train()
    batch = fixed_batch()
    opt = LARS(model.parameters(), lr=0.5, weight_decay=1e-5)
    key = f'loss_{algorithm.lower()}'
    values = []
    for _ in range(8):
        loss = model(batch, mode='loss')[key]
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.momentum_update(0.99)
        values.append(loss.item())
    assert values[-1] < values[0] - 0.1, values


def test_instance_branch_adds_its_loss_and_target():
    model = build_tiny(
        instance_neck=dict(type='ConvMLPNeck', in_channels=128, hid_channels=64,
                           out_channels=32),
        instance_predictor=dict(type='ConvMLPNeck', in_channels=32, hid_channels=64,
                                out_channels=32),
        instance_head=dict(type='DenseContrastHead', matcher=None,
                           loss=dict(type='InstanceConsistencyLoss', loss_weight=1.0)))
    assert hasattr(model, 'target_instance_neck')
    assert not hasattr(model, 'target_instance_predictor')  # the predictor is online only
    losses = model(fixed_batch(), mode='loss')
    assert -4 - 1e-5 <= losses['loss_instance'].item() <= 4 + 1e-5
    with pytest.raises(ValueError, match='instance_neck, instance_predictor and instance_head'):
        build_tiny(instance_neck=dict(type='ConvMLPNeck', in_channels=128))


def test_tensor_mode_returns_backbone_features():
    model = build_tiny()
    feats = model(torch.zeros(2, 3, 64, 64), mode='tensor')
    assert feats[-1].shape == (2, 128, 2, 2)
    with pytest.raises(RuntimeError, match="supports mode 'loss' and 'tensor', got 'predict'"):
        model(torch.zeros(1, 3, 64, 64), mode='predict')
