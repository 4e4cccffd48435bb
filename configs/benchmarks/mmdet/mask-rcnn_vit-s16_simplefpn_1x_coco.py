# COCO Mask R-CNN with a pretrained ViT-S/16, ViTDet-style (Li et al., ECCV 2022): the plain
# ViT (this project's, loaded strictly from the pretraining checkpoint's online backbone) and
# a simple feature pyramid from its stride-16 map (mmdet 3.3.0's wheel has neither: both are
# dense_ssl_mm modules). Simplified against ViTDet: global attention in every block, absolute
# positions resized per input, mmdet's 1x schedule with AdamW (ViTDet: 1024 px, window
# attention, relative positions, layer-wise lr decay, 100 epochs).
#   python tools/export_backbone.py CKPT work_dirs/pretrained/vit.pth   # the ViT's own names
# (or pretrained=CKPT: a pretraining checkpoint's online backbone loads directly)
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

pretrained = 'work_dirs/pretrained/vit.pth'
model = dict(
    backbone=dict(_delete_=True, type='dense_ssl_mm.ViT', arch='small', patch_size=16,
                  img_size=224, drop_path_rate=0.1, out_indices=(11, ),
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(_delete_=True, type='dense_ssl_mm.SimpleFeaturePyramid', in_channels=384,
              out_channels=256, scales=(4.0, 2.0, 1.0, 0.5), num_outs=5),
    rpn_head=dict(num_convs=2),
    roi_head=dict(bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                                 norm_cfg=dict(type='GN', num_groups=32)),
                  mask_head=dict(norm_cfg=dict(type='GN', num_groups=32))))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                                    weight_decay=0.1),
                     paramwise_cfg=dict(custom_keys={'pos_embed': dict(decay_mult=0.0),
                                                     'cls_token': dict(decay_mult=0.0),
                                                     'norm': dict(decay_mult=0.0)}))
paper_results = {}
