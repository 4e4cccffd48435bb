# mmdet's own Mask R-CNN R50-FPN config, inherited with mmdet:: (its dicts carry _scope_).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
model = dict(backbone=dict(init_cfg=None), data_preprocessor=dict(pad_size_divisor=32))
