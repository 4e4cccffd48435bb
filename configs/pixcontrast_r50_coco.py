# PixContrast R50 on COCO train2017 images, same data and schedule as pixpro_r50_coco.py.
_base_ = [
    '_base_/models/pixcontrast_r50.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/pixpro_views.py',
    '_base_/schedules/lars_coslr_800e.py',
    '_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=10))

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
