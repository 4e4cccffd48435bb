# PixPro R50 on ImageNet-1k, 400 epochs (paper: 60.2 VOC AP).
_base_ = [
    '_base_/models/pixpro_r50.py',
    '_base_/datasets/imagenet_images.py',
    '_base_/datasets/pixpro_views.py',
    '_base_/schedules/lars_coslr_400e.py',
    '_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=5))

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
