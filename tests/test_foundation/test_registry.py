"""Registries: children of mmengine's, found by default scope, reach mmdet/mmseg by prefix."""
import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope, init_default_scope

from dense_ssl_mm import registry
from dense_ssl_mm.apis import register_all_modules


def test_registries_are_children_with_our_scope():
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'OPTIMIZERS'):
        reg = getattr(registry, name)
        assert reg.scope == 'dense_ssl_mm'
        assert reg.parent is not None and reg.parent.scope == 'mmengine'
        assert reg.parent.children['dense_ssl_mm'] is reg


def test_import_registers_modules():
    assert {'PixPro', 'PixContrast', 'DenseContrastHead', 'PixelPropagationModule',
            'ConvMLPNeck', 'ViewDataPreprocessor'} <= set(registry.MODELS.module_dict)
    assert {'MultiViewTransform', 'PackViews', 'RandomResizedCropWithBox',
            'ColorJitter', 'GaussianBlur', 'Solarize'} <= set(registry.TRANSFORMS.module_dict)
    assert 'MomentumEncoderHook' in registry.HOOKS.module_dict
    # 0.2.0 removed the aliases of 0.1.0 (CHANGELOG.md); PairedViewTransform is the real
    # two-view case of MultiViewTransform
    assert 'PairedViewDataPreprocessor' not in registry.MODELS.module_dict
    assert 'PackPairedViews' not in registry.TRANSFORMS.module_dict
    paired, multi = (registry.TRANSFORMS.get(n) for n in ('PairedViewTransform',
                                                          'MultiViewTransform'))
    assert paired is not multi and issubclass(paired, multi)
    assert {'EMATeacher', 'FrozenTeacher', 'SnapshotTeacher', 'Distill'} <= \
        set(registry.MODELS.module_dict)
    assert 'SnapshotTeacherHook' in registry.HOOKS.module_dict
    assert 'LARS' in registry.OPTIMIZERS.module_dict
    assert {'ImageFolderDataset', 'ImageListDataset',
            'COCOImageDataset'} <= set(registry.DATASETS.module_dict)


def test_default_scope_and_prefixes():
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'dense_ssl_mm'
    init_default_scope('dense_ssl_mm')
    # Our module by plain name from mmengine's root registry, through the default scope.
    head = MMENGINE_MODELS.build(dict(type='DenseContrastHead',
                                      loss=dict(type='PixContrastLoss')))
    assert type(head).__name__ == 'DenseContrastHead' and head.loss_name == 'loss_pixcontrast'
    assert type(head.matcher).__name__ == 'GeometricPositives'  # from TASK_UTILS
    # mmdet's and mmseg's modules by scope prefix.
    resnet = registry.MODELS.build(dict(type='mmdet.ResNet', depth=18, out_indices=(3, )))
    assert type(resnet).__module__.startswith('mmdet.')
    out = resnet(torch.zeros(1, 3, 64, 64))
    assert out[0].shape == (1, 512, 2, 2)
    # A module that builds children (its loss) needs their scope for the whole build.
    fcn_head = registry.MODELS.build(
        dict(type='FCNHead', _scope_='mmseg', in_channels=8, channels=4, num_classes=3,
             norm_cfg=dict(type='BN')))
    assert type(fcn_head).__module__.startswith('mmseg.')
    assert type(fcn_head.loss_decode).__module__.startswith('mmseg.')
