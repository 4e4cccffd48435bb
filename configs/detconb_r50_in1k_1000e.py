# DetConB R50 on ImageNet-1k: batch 4096 (16 x 256), LARS, 1000 epochs (reported by the
# PyTorch port, 300 epochs: VOC 76.0 mIoU, Cityscapes 76.2, COCO Mask R-CNN 41.5 / 38.3 AP).
# FH masks first (2-3 days on 16 cores for ImageNet in the reference; resumable):
#   python tools/make_fh_masks.py data/imagenet/train --processes 16
_base_ = [
    '_base_/models/detconb_r50.py',
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
custom_hooks = [dict(type='MomentumEncoderHook', base_target_momentum=0.996,
                     end_target_momentum=1.0, schedule='cosine')]
default_hooks = dict(checkpoint=dict(interval=10))
