# COCO Mask R-CNN, ViTDet-style, with a ViT-S/14 in DINOv2's geometry (a NeCo post-training
# or a DINOv2 file): the ViT-S/16 config (mask-rcnn_vit-s16_simplefpn_1x_coco.py) with 14 px
# patches, LayerScale, the 518 px positional grid resampled by the DINOv2 rule, and the
# stride-14 map resized to the stride-16 grid before the simple pyramid (strides 4-64 as
# mmdet's heads expect); images padded to a multiple of 224 (= lcm(14, 32)).
# A NeCo checkpoint's online ViT loads directly:  pretrained=work_dirs/neco.../epoch_25.pth
# (or a DINOv2 release file: its layout is converted on load).
_base_ = './mask-rcnn_vit-s16_simplefpn_1x_coco.py'
model = dict(
    data_preprocessor=dict(pad_size_divisor=224),
    backbone=dict(patch_size=14, img_size=518, layer_scale=1e-5, pos_interpolation='dinov2'),
    neck=dict(in_stride=14))
