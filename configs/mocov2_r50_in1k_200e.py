# MoCo v2 R50 on ImageNet-1k, 200 epochs, 8 GPUs x 32 = 256 images per step, the MoCo v2 recipe
# (SGD lr 0.03 per 256, momentum 0.9, weight decay 1e-4, cosine; sources in
# _base_/schedules/sgd_coslr_200e.py). Momentum encoder m = 0.999, constant.
_base_ = [
    '_base_/models/mocov2_r50.py',
    '_base_/datasets/imagenet_images.py',
    '_base_/datasets/mocov2_views.py',
    '_base_/schedules/sgd_coslr_200e.py',
    '_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline={{_base_.train_pipeline}}))
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.999, schedule='constant')
]
