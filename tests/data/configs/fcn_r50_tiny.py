# mmseg's own FCN R50-D8 Cityscapes config, inherited with mmseg::.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py'
model = dict(pretrained=None, data_preprocessor=dict(size=None, size_divisor=32))
