# VICRegL R50 on COCO train2017 images (118k): the ImageNet recipe's model, views and LARS
# (lr 0.2 x batch / 256) at batch 1024 (8 x 128), 800 epochs as the other COCO-only configs.
_base_ = [
    '_base_/models/vicregl_r50.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/vicregl_views.py',
    '_base_/schedules/vicregl_lars_coslr_300e.py',
    '_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
lr = 0.2 * 1024 / 256
optim_wrapper = dict(optimizer=dict(lr=lr))
max_epochs = 800
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 10, eta_min=lr * 1e-3, by_epoch=True,
         begin=10, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024)
default_hooks = dict(checkpoint=dict(interval=10))
custom_hooks = []  # no momentum target, no MomentumEncoderHook
