# PASCAL VOC07+12 Faster R-CNN R50-C4, 24k iterations at batch 16 (8 GPUs x 2), multi-scale
# training (shorter side 480-800), evaluated on VOC07 test with COCO-style AP (IoU 0.5:0.95)
# and AP50. From mmdet's own C4 VOC config; the dense-SSL protocol changes: a pytorch-style
# backbone with RGB ImageNet normalisation (as pretrained), SyncBN in backbone and res5 head,
# no frozen stages, BN in training mode, 24k schedule.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'

pretrained = 'work_dirs/pretrained/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(
        style='pytorch',
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=pretrained,
                      allow_unexpected=True)),
    roi_head=dict(
        shared_head=dict(
            style='pytorch',
            norm_cfg=norm_cfg,
            norm_eval=False,
            init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=pretrained,
                          allow_unexpected=True))))

max_iter = 24000
train_cfg = dict(max_iters=max_iter, val_interval=4000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iter, by_epoch=False,
         milestones=[18000, 22000], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='area',
                     iou_thrs=[0.5 + 0.05 * i for i in range(10)])
test_evaluator = val_evaluator
paper_results = {
    'PixPro 100ep': dict(mAP=58.8),
    'PixPro 400ep': dict(mAP=60.2),
    'supervised IN-1k': dict(mAP=53.5),
}
