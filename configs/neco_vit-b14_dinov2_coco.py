# NeCo from DINOv2 ViT-B/14 (dinov2_vitb14_pretrain.pth): the ViT-S recipe with batch 16
# and backbone lr 5e-6. Reported (Pascal VOC): dense NN retrieval 82.8 mIoU, linear 84.5.
_base_ = ['./neco_vit-s14_dinov2_coco.py']
model = dict(
    backbone=dict(arch='base',
                  init_cfg=dict(checkpoint='checkpoints/dinov2_vitb14_pretrain.pth')),
    neck=dict(in_channels=768))
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.05)}))
auto_scale_lr = dict(base_batch_size=16)
