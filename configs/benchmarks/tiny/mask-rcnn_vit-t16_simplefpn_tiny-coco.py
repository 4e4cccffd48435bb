# CPU transfer path for ViTs: the tiny Mask R-CNN run (mask-rcnn_r18_fpn_tiny-coco.py: data,
# schedule, CPU budget) with the ViT-T/16 of configs/demo/pixpro_vit-t16_demo.py and the
# simple feature pyramid of the ViTDet-style benchmark config.
_base_ = './mask-rcnn_r18_fpn_tiny-coco.py'

pretrained = 'work_dirs/pretrained/vit.pth'
model = dict(
    backbone=dict(_delete_=True, type='dense_ssl_mm.ViT', arch='tiny', patch_size=16,
                  img_size=128, out_indices=(11, ),
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(_delete_=True, type='dense_ssl_mm.SimpleFeaturePyramid', in_channels=192,
              out_channels=256, scales=(4.0, 2.0, 1.0, 0.5), num_outs=5))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.1))
