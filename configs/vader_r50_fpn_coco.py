# VADeR R50-FPN on COCO train2017 images, 8 GPUs x 32, MoCo v2's SGD recipe (source in
# _base_/schedules/sgd_coslr_200e.py) for 800 epochs (the usual length for COCO-only
# pretraining). Target network: constant momentum 0.999 (MoCo).
_base_ = [
    '_base_/models/vader_r50_fpn.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/mocov2_overlap_views.py',
    '_base_/schedules/sgd_coslr_800e.py',
    '_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline={{_base_.train_pipeline}}))
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.999, schedule='constant')
]
default_hooks = dict(checkpoint=dict(interval=10))
