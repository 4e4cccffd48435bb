# VICRegL ConvNeXt-S on ImageNet-1k, the paper's multi-crop recipe (2 x 224 + 6 x 96; 7 x 7
# and 3 x 3 cell grids): LayerNorm in the projectors, AdamW (weight decay 0.05), lr 5e-4 at
# batch 576 (scaled linearly), 400 epochs, 10 warm-up epochs, cosine to 0.001 x peak,
# drop path 0.1. Reported: frozen linear VOC 67.5 mIoU (alpha 0.75).
# ConvNeXt is mmpretrain's (the `full` profile installs mmpretrain 1.2.0).
_base_ = [
    '_base_/models/vicregl_r50.py',
    '_base_/datasets/imagenet_images.py',
    '_base_/datasets/vicregl_multicrop_views.py',
    '_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.ConvNeXt', arch='small', out_indices=(3, ),
                  gap_before_final_norm=False, drop_path_rate=0.1),
    neck=dict(in_channels=768, norm_cfg=dict(type='mmpretrain.LN2d')),
    local_neck=dict(in_channels=768, norm_cfg=dict(type='mmpretrain.LN2d')),
)
train_dataloader = dict(batch_size=72,  # per GPU: 8 x 72 = 576
                        dataset=dict(pipeline={{_base_.train_pipeline}}))
lr = 5e-4
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic',
                     optimizer=dict(type='AdamW', lr=lr, weight_decay=0.05))
max_epochs = 400
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 10, eta_min=lr * 1e-3, by_epoch=True,
         begin=10, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=576)
default_hooks = dict(checkpoint=dict(interval=10))
custom_hooks = []  # no momentum target, no MomentumEncoderHook
