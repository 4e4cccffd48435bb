# ADE20K UPerNet with a pretrained ViT-S/16 (mmseg's DeiT-S recipe: MultiLevelNeck, final
# LayerNorm, AdamW 6e-5, 160k iterations, 512 x 512). The backbone file comes from
#   python tools/export_backbone.py CKPT work_dirs/pretrained/vit_mmseg.pth --layout mmseg-vit
# (LayerScale folded into the projections, so the features are the pretrained ViT's exactly).
# The positional embedding stays at the pretraining grid (224 px: 14 x 14) and mmseg resizes
# it to each input at run time.
_base_ = 'mmseg::vit/vit_deit-s16-ln_mln_upernet_8xb2-160k_ade20k-512x512.py'

pretrained = 'work_dirs/pretrained/vit_mmseg.pth'
model = dict(
    pretrained=None,
    backbone=dict(img_size=(224, 224), patch_bias=True, final_norm=True,
                  norm_cfg=dict(type='LN', eps=1e-6),
                  init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=pretrained)))
paper_results = {}
