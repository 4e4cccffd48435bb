"""Four-view PixPro through the head's view pairs: equal to the sum of its two-view pairs,
no gradient into the target, a loss that falls; a target-free model needs no hook."""
import itertools

import pytest
import torch

from dense_ssl_mm.engine.optimizers import LARS
from dense_ssl_mm.models.algorithms import DenseAlgorithm, MomentumTarget
from ..helpers import build_tiny


def four_views(n=4, size=64, seed=0):
    """Four overlapping crops of one random canvas per image, one flipped."""
    gen = torch.Generator().manual_seed(seed)
    canvas = torch.randn(n, 3, size + 24, size + 24, generator=gen)
    offsets = [(0, 0), (8, 16), (16, 8), (24, 24)]
    views = torch.stack([canvas[..., y:y + size, x:x + size] for x, y in offsets])
    views[3] = views[3].flip(-1)
    boxes = torch.tensor([[x, y, x + size, y + size] for x, y in offsets], dtype=torch.float32)
    flips = torch.tensor([False, False, False, True])[:, None].expand(4, n).contiguous()
    return dict(views=views, boxes=boxes[:, None].expand(4, n, 4).contiguous(), flips=flips)


def test_four_views_equal_the_sum_of_their_pairs():
    model = build_tiny(head=dict(type='DenseContrastHead', pairs='all',
                                 loss=dict(type='PixProConsistencyLoss')))
    batch = four_views()
    total = model(batch, mode='loss')['loss_pixpro']
    by_pairs = 0
    for a, b in itertools.combinations(range(4), 2):  # each two-view batch: (a, b) and (b, a)
        pair = {k: v[[a, b]] for k, v in batch.items()}
        by_pairs = by_pairs + model(pair, mode='loss')['loss_pixpro']
    # BN statistics are per view (each view has its own forward), so the maps are the same
    assert torch.allclose(total, by_pairs, atol=1e-5), (total, by_pairs)
    assert float(total) < -0.5  # 12 pair terms, each in [-2, 2]; views overlap


def test_four_view_pixpro_trains_and_keeps_the_target_out_of_the_graph():
    model = build_tiny(head=dict(type='DenseContrastHead', pairs='all', reduction='mean',
                                 loss=dict(type='PixProConsistencyLoss')))
    model.train()
    batch = four_views(seed=1)
    opt = LARS(model.parameters(), lr=0.5, weight_decay=1e-5)
    values = []
    for step in range(8):
        loss = model(batch, mode='loss')['loss_pixpro']
        opt.zero_grad()
        loss.backward()
        if step == 0:
            assert all(p.grad is None for n, p in model.named_parameters()
                       if n.startswith('target_'))
        opt.step()
        model.momentum_update(0.99)
        values.append(loss.item())
    assert values[-1] < values[0] - 0.1, values


class TargetFree(DenseAlgorithm):
    """A method without a momentum target (the base alone)."""

    def loss(self, inputs, data_samples):
        return dict(loss=self.extract_dense(inputs[0]).mean())


def test_plain_base_has_no_target_and_the_hook_refuses_it():
    from dense_ssl_mm.engine.hooks import MomentumEncoderHook
    model = TargetFree(backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, )),
                       neck=dict(type='ConvMLPNeck', in_channels=64, hid_channels=16,
                                 out_channels=8),
                       data_preprocessor=dict(type='ViewDataPreprocessor'))
    assert not isinstance(model, MomentumTarget) and isinstance(build_tiny(), MomentumTarget)
    assert not any(n.startswith('target_') for n, _ in model.named_parameters())
    assert 'momentum_steps' not in dict(model.named_buffers())
    loss = model(four_views(), mode='loss')['loss']
    assert loss.requires_grad

    class FakeRunner:
        pass
    FakeRunner.model = model
    with pytest.raises(TypeError, match='TargetFree has none: remove the hook'):
        MomentumEncoderHook().before_train(FakeRunner())
