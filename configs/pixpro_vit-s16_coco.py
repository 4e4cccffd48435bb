# PixPro with a ViT-S/16 on COCO train2017 images: the R50 recipe's data, views and
# projector on the ViT's patch tokens (14 x 14 at 224 px), AdamW (lr 5e-4 x batch / 512,
# weight decay 0.05, 10 warm-up epochs, cosine), 800 epochs at 8 x 128.
_base_ = [
    '_base_/models/pixpro_r50.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/pixpro_views.py',
    '_base_/default_runtime.py',
]
model = dict(
    backbone=dict(_delete_=True, type='ViT', arch='small', patch_size=16, img_size=224,
                  drop_path_rate=0.1, out_indices=(2, 5, 8, 11)),
    neck=dict(in_channels=384),
)
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
lr = 5e-4 * 1024 / 512
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic',
                     optimizer=dict(type='AdamW', lr=lr, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                                        custom_keys={'pos_embed': dict(decay_mult=0.0),
                                                     'cls_token': dict(decay_mult=0.0)}))
max_epochs = 800
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 10, eta_min=1e-6, by_epoch=True,
         begin=10, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=1024)
default_hooks = dict(checkpoint=dict(interval=10))
