# DenseCL R50 on COCO train2017 images, 800 epochs (the COCO length of the DenseCL paper's
# tables), 8 GPUs x 32, the MoCo v2 SGD recipe (_base_/schedules/sgd_coslr_200e.py) and
# momentum 0.999, constant.
# Not reproduced: the official COCO configs warm lambda up from 0 over the first
# iterations (a hook in its code); here lambda = 0.5 from the start, as on ImageNet.
_base_ = [
    '_base_/models/densecl_r50.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/mocov2_views.py',
    '_base_/schedules/sgd_coslr_800e.py',
    '_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline={{_base_.train_pipeline}}))
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.999, schedule='constant')
]
default_hooks = dict(checkpoint=dict(interval=10))
