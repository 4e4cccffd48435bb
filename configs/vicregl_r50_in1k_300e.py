# VICRegL R50 on ImageNet-1k, the ResNet recipe of the paper (Bardes et al., NeurIPS 2022;
# constants from facebookresearch/VICRegL): 2 views at 224, alpha 0.75, LARS, base lr
# 0.2 x batch / 256, weight decay 1e-6, batch 2048, 300 epochs.
# Reported: frozen linear VOC 55.9 mIoU.
_base_ = [
    '_base_/models/vicregl_r50.py',
    '_base_/datasets/imagenet_images.py',
    '_base_/datasets/vicregl_views.py',
    '_base_/schedules/vicregl_lars_coslr_300e.py',
    '_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=256,  # per GPU: 8 x 256 = 2048
                        dataset=dict(pipeline={{_base_.train_pipeline}}))
default_hooks = dict(checkpoint=dict(interval=10))
custom_hooks = []  # no momentum target, no MomentumEncoderHook
