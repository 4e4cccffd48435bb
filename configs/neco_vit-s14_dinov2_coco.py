# NeCo (Pariza et al., ICLR 2025): dense post-training of DINOv2 ViT-S/14 on COCO
# train2017 images, the official recipe: 2 x 224 + 4 x 98 crops, batch 64 on one GPU,
# 25 epochs (about 46k steps), AdamW with head lr 1e-4 and backbone lr 1e-5, cosine to 0
# per step, no warm-up, weight decay cosine 0.04 -> 0.5 (1-D parameters: none), teacher
# EMA 0.9995 -> 1 (cosine).
# Start from the official DINOv2 release file (dinov2_vits14_pretrain.pth):
#   python tools/train.py configs/neco_vit-s14_dinov2_coco.py --cfg-options \
#       model.backbone.init_cfg.checkpoint=/path/dinov2_vits14_pretrain.pth
# Reported (Pascal VOC, DINOv2 ViT-S/14 -> NeCo): dense NN retrieval 78.6 mIoU, linear 81.4.
_base_ = [
    '_base_/models/neco_vit-s14.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/neco_views.py',
    '_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline={{_base_.train_pipeline}}))
max_epochs = 25
optim_wrapper = dict(
    type='OptimWrapper',  # fp32 as the reference; bf16: type='AmpOptimWrapper', dtype='bfloat16'
    constructor='FlatDecayOptimWrapperConstructor',  # 1-D: no decay, also in the backbone
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.04),
    paramwise_cfg=dict(flat_decay_mult=0.0,  # biases, norms, layer scales: no decay
                       custom_keys={'backbone': dict(lr_mult=0.1)}))  # 1e-5 for the ViT
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', T_max=max_epochs,
         eta_min_ratio=0.5 / 0.04, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=64)  # NeCo scales nothing with the batch
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.9995, end_target_momentum=1.0,
         schedule='cosine'),
]
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=50))
