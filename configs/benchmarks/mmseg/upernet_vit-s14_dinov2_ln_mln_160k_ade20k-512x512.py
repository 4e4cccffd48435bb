# ADE20K UPerNet with a pretrained ViT-S/14 in DINOv2's geometry (a NeCo post-training or a
# DINOv2 file): the ViT-S/16 recipe (upernet_vit-s16_ln_mln_160k_ade20k-512x512.py) with
# 14 px patches and the positional grid of 518 px (37 x 37), which mmseg resizes (bicubic)
# to each input; 512 px crops are padded to 518 by mmseg's patch embedding. The file:
#   python tools/export_backbone.py CKPT work_dirs/pretrained/vit_mmseg.pth --layout mmseg-vit
# (LayerScale folded; a model with registers cannot be exported to mmseg's ViT).
_base_ = './upernet_vit-s16_ln_mln_160k_ade20k-512x512.py'
model = dict(backbone=dict(patch_size=14, img_size=(518, 518)))
