# PASCAL VOC 2012 aug UPerNet with a pretrained ViT-S/14 in DINOv2's geometry (a NeCo
# post-training or a DINOv2 file), fine-tuned end to end: mmseg's ViT UPerNet (MultiLevelNeck,
# final LayerNorm, AdamW 6e-5, no decay on positions, class token and norms, linear warm-up
# 1500 iterations then poly) on VOC's 20k-iteration schedule, 512 x 512 crops, 21 classes.
# The backbone file comes from
#   python tools/export_backbone.py CKPT work_dirs/pretrained/vit_mmseg.pth --layout mmseg-vit
_base_ = [
    'mmseg::_base_/models/upernet_vit-b16_ln_mln.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (512, 512)
pretrained = 'work_dirs/pretrained/vit_mmseg.pth'
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(img_size=(518, 518), patch_size=14, embed_dims=384, num_heads=6,
                  drop_path_rate=0.1, patch_bias=True, final_norm=True,
                  norm_cfg=dict(type='LN', eps=1e-6),
                  init_cfg=dict(type='dense_ssl_mm.StrictPretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[384, 384, 384, 384], out_channels=384),
    decode_head=dict(num_classes=21, in_channels=[384, 384, 384, 384]),
    auxiliary_head=dict(num_classes=21, in_channels=384))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'pos_embed': dict(decay_mult=0.0),
                                    'cls_token': dict(decay_mult=0.0),
                                    'norm': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=20000, by_epoch=False),
]
train_dataloader = dict(batch_size=4)  # 4 GPUs x 4, as mmseg's VOC schedules
paper_results = {}
