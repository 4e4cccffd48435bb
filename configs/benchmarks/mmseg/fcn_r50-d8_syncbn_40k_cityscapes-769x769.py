# Cityscapes FCN R50-D8, 769x769 crops, 40k iterations (mmseg's schedule), with a plain-stem
# ResNet (mmseg `ResNet`, one 7x7 stem conv) matching the pretrained backbone, instead of
# mmseg's deep-stem ResNetV1c. SyncBN, BN in training mode, nothing frozen.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-769x769.py'

pretrained = 'work_dirs/pretrained/backbone.pth'
model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', deep_stem=False,
                  init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=pretrained)))
paper_results = {'PixPro 100ep': dict(mIoU=77.2)}
