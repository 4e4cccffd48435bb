# DetConB R50 on COCO train2017 images (118k): DetCon's model, views and LARS (lr 0.2 x
# batch / 256) at batch 1024 (8 x 128), 800 epochs as the other COCO-only configs.
#   python tools/make_fh_masks.py data/coco/train2017 --processes 16
_base_ = [
    '_base_/models/detconb_r50.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/detcon_views.py',
    '_base_/schedules/detcon_lars_coslr_1000e.py',
    '_base_/default_runtime.py',
]
img_root = 'data/coco/train2017/'
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadFHMask', img_root=img_root),
    dict(type='MultiViewTransform', view_pipelines={{_base_.view_pipelines}}),
    dict(type='MasksToViews'),
    dict(type='PackViews'),
]))
lr = 0.2 * 1024 / 256
optim_wrapper = dict(optimizer=dict(lr=lr))
max_epochs = 800
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=8,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 8, eta_min=0.0, by_epoch=True,
         begin=8, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024)
custom_hooks = [dict(type='MomentumEncoderHook', base_target_momentum=0.996,
                     end_target_momentum=1.0, schedule='cosine')]
default_hooks = dict(checkpoint=dict(interval=10))
