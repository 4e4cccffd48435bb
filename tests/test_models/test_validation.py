"""Wrong config values fail when the module is built, naming module, argument and value."""
import pytest
import torch

from dense_ssl_mm.registry import HOOKS, MODELS, OPTIMIZERS, TRANSFORMS
from dense_ssl_mm.utils.validation import check_number, check_range
from ..helpers import tiny_model_cfg


@pytest.mark.parametrize('registry,cfg,error,message', [
    (MODELS, dict(type='DenseContrastHead',
                  matcher=dict(type='GeometricPositives', pos_threshold='high')), TypeError,
     r"GeometricPositives: pos_threshold must be a number and be > 0, got 'high' \(str\)"),
    (MODELS, dict(type='DenseContrastHead',
                  matcher=dict(type='GeometricPositives', pos_threshold=0)), ValueError,
     r'GeometricPositives: pos_threshold must be > 0, got 0'),
    (MODELS, dict(type='DenseContrastHead',
                  matcher=dict(type='MatchedPixelPairs', num_samples=2.5)), TypeError,
     r'MatchedPixelPairs: num_samples must be an integer and be >= 1, got 2.5'),
    (MODELS, dict(type='DenseContrastHead',
                  loss=dict(type='PixContrastLoss', temperature=float('nan'))), ValueError,
     r'PixContrastLoss: temperature must be > 0, got nan'),
    (MODELS, dict(type='DenseContrastHead',
                  loss=dict(type='PixProConsistencyLoss', loss_weight=-0.5)), ValueError,
     r'PixProConsistencyLoss: loss_weight must be >= 0, got -0.5'),
    (MODELS, dict(type='PixelPropagationModule', gamma='2'), TypeError,
     r"PixelPropagationModule: gamma must be a number and be >= 0, got '2'"),
    (MODELS, dict(type='ConvMLPNeck', hid_channels=0), ValueError,
     r'ConvMLPNeck: hid_channels must be >= 1, got 0'),
    (MODELS, dict(type='DenseFPNNeck', out_channels=True), TypeError,
     r'DenseFPNNeck: out_channels must be an integer and be >= 1, got True'),
    (MODELS, dict(type='InstanceConsistencyLoss', loss_weight=-1), ValueError,
     r'InstanceConsistencyLoss: loss_weight must be >= 0, got -1'),
    (MODELS, dict(type='QueueInfoNCELoss', name='Global loss'), ValueError,
     r"QueueInfoNCELoss: name must be lower case letters, digits and _ .*got 'Global loss'"),
    (HOOKS, dict(type='MomentumEncoderHook', base_target_momentum='0.99'), TypeError,
     r"MomentumEncoderHook: base_target_momentum must be a number and lie in \[0, 1\]"),
    (HOOKS, dict(type='NonFiniteGuardHook', interval=0), ValueError,
     r'NonFiniteGuardHook: interval must be >= 1, got 0'),
    (TRANSFORMS, dict(type='RandomResizedCropWithBox', size=224, scale=(0.2, 'x')), TypeError,
     r"RandomResizedCropWithBox: scale\[1\] must be a number and lie in \(0, 1\]"),
    (TRANSFORMS, dict(type='RandomResizedCropWithBox', size=0), ValueError,
     r'RandomResizedCropWithBox: size\[0\] must be >= 1, got 0'),
    (TRANSFORMS, dict(type='ColorJitter', hue=0.7), ValueError,
     r'ColorJitter: hue must lie in \[0, 0.5\], got 0.7'),
    (TRANSFORMS, dict(type='GaussianBlur', prob=1.5), ValueError,
     r'GaussianBlur: prob must lie in \[0, 1\], got 1.5'),
    (TRANSFORMS, dict(type='Solarize', threshold='mid'), TypeError,
     r"Solarize: threshold must be a number and lie in \[0, 256\], got 'mid'"),
])
def test_bad_values_fail_at_build_naming_the_argument(registry, cfg, error, message):
    with pytest.raises(error, match=message):
        registry.build(cfg)


def test_lars_names_the_bad_learning_rate():
    params = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(TypeError, match=r"LARS: lr must be a number and be >= 0, got 'fast'"):
        OPTIMIZERS.build(dict(type='LARS', params=params, lr='fast'))


def test_vader_queue_size_is_checked():
    from ..helpers import tiny_vader_cfg
    cfg = tiny_vader_cfg()
    cfg['queue_size'] = 'big'
    with pytest.raises(TypeError, match=r"VADeR: queue_size must be an integer and be >= 1"):
        MODELS.build(cfg)


def test_good_values_pass_through_unchanged():
    assert check_number('X', 'a', 3, 1, integer=True) == 3
    assert check_number('X', 'b', 0.5, 0, 1) == 0.5
    assert check_range('X', 'r', [0.1, 0.2], 0, 1) == (0.1, 0.2)
    model = MODELS.build(tiny_model_cfg())
    assert model.head.matcher.pos_threshold == 0.7 and model.head.loss_module.loss_weight == 1.0
