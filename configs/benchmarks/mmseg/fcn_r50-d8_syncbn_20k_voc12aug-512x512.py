# PASCAL VOC 2012 aug FCN R50-D8, 512x512 crops, 20k iterations (mmseg's schedule), with a
# plain-stem ResNet matching the pretrained backbone. SyncBN, nothing frozen.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py'

pretrained = 'work_dirs/pretrained/backbone.pth'
model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', deep_stem=False,
                  init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=pretrained)))
paper_results = {}
