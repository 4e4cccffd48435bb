"""The ops-free ResNet and FPN against mmdet's: same keys, same initial weights, same outputs."""
import pytest
import torch
from mmdet.models.backbones import ResNet as MMDetResNet
from mmdet.models.necks import FPN as MMDetFPN
from mmengine.model import revert_sync_batchnorm

from dense_ssl_mm.models.backbones import ResNet
from dense_ssl_mm.models.necks import FPN


def built_pair(ours_cls, theirs_cls, seed=0, **kwargs):
    """Both modules built and initialised from the same seed."""
    torch.manual_seed(seed)
    ours = ours_cls(**kwargs)
    ours.init_weights()
    torch.manual_seed(seed)
    theirs = theirs_cls(**kwargs)
    theirs.init_weights()
    return ours, theirs


def assert_same_state(ours, theirs):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for key in a:
        assert a[key].shape == b[key].shape, key
        assert torch.equal(a[key], b[key]), key  # same seed: the very same initial weights


def randomise(module, seed=1):
    """Weights and BN statistics away from their init (so zero scales and 1-stats are not
    hiding a wrong layer)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                noise = torch.rand(t.shape, generator=gen) * 0.5 + 0.75
                t.copy_(noise if 'running_var' in name else
                        (torch.randn(t.shape, generator=gen) * t.std().nan_to_num(0.1)
                         .clamp_min(0.05)))


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('options', [
    dict(),
    dict(frozen_stages=2, norm_eval=False),
    dict(norm_eval=True, zero_init_residual=False, out_indices=(1, 3)),
    dict(style='caffe', deep_stem=True, avg_down=True, base_channels=32, frozen_stages=0),
])
def test_resnet_equals_mmdet(depth, options):
    options = dict(dict(base_channels=16, norm_eval=False), **options)
    ours, theirs = built_pair(ResNet, MMDetResNet, depth=depth, **options)
    assert_same_state(ours, theirs)
    randomise(ours)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(2))
    for mode in (True, False):
        ours.train(mode), theirs.train(mode)
        assert [m.training for m in ours.modules()] == [m.training for m in theirs.modules()]
        out_ours, out_theirs = ours(x), theirs(x)
        assert len(out_ours) == len(out_theirs) == len(options.get('out_indices', range(4)))
        for a, b in zip(out_ours, out_theirs):
            assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-6)
    assert [p.requires_grad for p in ours.parameters()] == \
        [p.requires_grad for p in theirs.parameters()]
    # BN statistics moved identically in train mode (frozen/norm_eval layers did not move)
    for (key, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert torch.allclose(a.double(), b.double(), rtol=0, atol=1e-6), key


def test_resnet_syncbn_reverted_to_bn_equals_mmdet():
    cfg = dict(depth=18, base_channels=8, norm_cfg=dict(type='SyncBN'), norm_eval=False)
    ours, theirs = built_pair(ResNet, MMDetResNet, **cfg)
    assert type(ours.bn1).__name__ == 'SyncBatchNorm'
    ours, theirs = revert_sync_batchnorm(ours), revert_sync_batchnorm(theirs)
    assert_same_state(ours, theirs)
    x = torch.randn(2, 3, 32, 32)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours(x), theirs(x)))


def test_resnet_with_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = ResNet(depth=18, base_channels=8, norm_eval=False)
    torch.manual_seed(0)
    ckpt = ResNet(depth=18, base_channels=8, norm_eval=False, with_cp=True)
    x = torch.randn(2, 3, 32, 32)
    for model in (plain, ckpt):
        sum(o.sum() for o in model(x)).backward()
    for a, b in zip(plain.parameters(), ckpt.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-6)


def test_resnet_refuses_what_it_cannot_build():
    with pytest.raises(KeyError, match=r'depth must be one of \[18, 34, 50, 101, 152\], got 26'):
        ResNet(depth=26)
    with pytest.raises(TypeError, match=r"\['dcn', 'stage_with_dcn'\] not supported .*"
                                        r"mmdet\.ResNet"):
        ResNet(depth=50, dcn=dict(type='DCNv2'), stage_with_dcn=(False, True, True, True))
    with pytest.raises(ValueError, match=r'out_indices must lie in \[0, 3\], got \(4,\)'):
        ResNet(depth=18, out_indices=(4, ))
    ResNet(depth=18, dcn=None, plugins=None, stage_with_dcn=(False, ) * 4)  # mmdet defaults


@pytest.mark.parametrize('options', [
    dict(num_outs=4),
    dict(num_outs=5, norm_cfg=dict(type='BN')),
    dict(num_outs=5, add_extra_convs='on_input'),
    dict(num_outs=5, start_level=1, add_extra_convs='on_output', relu_before_extra_convs=True),
    dict(num_outs=6, add_extra_convs=True, no_norm_on_lateral=True,
         norm_cfg=dict(type='GN', num_groups=4), upsample_cfg=dict(scale_factor=2.0)),
    dict(num_outs=3, end_level=2, add_extra_convs='on_lateral'),
])
def test_fpn_equals_mmdet(options):
    in_channels = [8, 16, 32, 64]
    ours, theirs = built_pair(FPN, MMDetFPN, in_channels=in_channels, out_channels=12,
                              **options)
    assert_same_state(ours, theirs)
    randomise(ours)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    gen = torch.Generator().manual_seed(3)
    feats = [torch.randn(2, c, 32 // 2 ** i, 32 // 2 ** i, generator=gen)
             for i, c in enumerate(in_channels)]
    ours.train(), theirs.train()
    out_ours, out_theirs = ours(feats), theirs(feats)
    assert len(out_ours) == len(out_theirs) == options['num_outs']
    for a, b in zip(out_ours, out_theirs):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-6)


def test_fpn_errors_name_the_values():
    with pytest.raises(ValueError, match='num_outs 2 is fewer than the 4 levels'):
        FPN([8, 16, 32, 64], 8, num_outs=2)
    with pytest.raises(ValueError, match='add_extra_convs'):
        FPN([8, 16], 8, num_outs=3, add_extra_convs='on_top')
    with pytest.raises(ValueError, match=r'expected 2 input maps \(in_channels=\[8, 16\]\), '
                                         r'got 1'):
        FPN([8, 16], 8, num_outs=2)([torch.zeros(1, 8, 4, 4)])
