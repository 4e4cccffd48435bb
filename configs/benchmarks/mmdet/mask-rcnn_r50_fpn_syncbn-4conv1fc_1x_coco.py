# COCO Mask R-CNN R50-FPN 1x (90k iterations at batch 16) from a dense_ssl_mm backbone, the
# dense-SSL transfer protocol: SyncBN in backbone, FPN and heads, 4conv1fc box head, no frozen
# stages, BN in training mode. Everything else is mmdet's own config.
# The pretrained weights are one setting: --cfg-options pretrained=PATH (tools/export_backbone.py
# output, or a pretraining checkpoint with init_cfg prefix 'backbone.').
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

pretrained = 'work_dirs/pretrained/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=pretrained)),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
# Published PixPro numbers for this protocol (box AP / mask AP), for the results table.
paper_results = {
    'PixPro 100ep': dict(bbox_mAP=40.8, segm_mAP=36.8),
    'PixPro 400ep + instance': dict(bbox_mAP=41.4, segm_mAP=37.4),
    'supervised IN-1k': dict(bbox_mAP=39.7, segm_mAP=35.9),
}
