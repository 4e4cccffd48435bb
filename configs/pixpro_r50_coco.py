# PixPro R50 on COCO train2017 images (118k), 8 GPUs x 128, the reference recipe.
# 800 epochs (~92k iterations at batch 1024), the usual length for COCO-only pretraining.
_base_ = [
    '_base_/models/pixpro_r50.py',
    '_base_/datasets/coco_images.py',
    '_base_/datasets/pixpro_views.py',
    '_base_/schedules/lars_coslr_800e.py',
    '_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=10))

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
