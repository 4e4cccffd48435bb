# DetConS R50 on ImageNet-1k: DetConB's data, views and schedule, one network (no target,
# so no MomentumEncoderHook).
_base_ = [
    '_base_/models/detcons_r50.py',
    '_base_/datasets/imagenet_images.py',
    '_base_/datasets/detcon_views.py',
    '_base_/schedules/detcon_lars_coslr_1000e.py',
    '_base_/default_runtime.py',
]
img_root = 'data/imagenet/train/'
train_dataloader = dict(batch_size=256, dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadFHMask', img_root=img_root),
    dict(type='MultiViewTransform', view_pipelines={{_base_.view_pipelines}}),
    dict(type='MasksToViews'),
    dict(type='PackViews'),
]))
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=10))
