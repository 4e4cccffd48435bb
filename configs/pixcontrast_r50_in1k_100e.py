# PixContrast R50 on ImageNet-1k, 100 epochs.
_base_ = [
    '_base_/models/pixcontrast_r50.py',
    '_base_/datasets/imagenet_images.py',
    '_base_/datasets/pixpro_views.py',
    '_base_/schedules/lars_coslr_100e.py',
    '_base_/default_runtime.py',
]

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
