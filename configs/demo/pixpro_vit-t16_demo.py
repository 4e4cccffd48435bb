# CPU demo: PixPro with a ViT-Tiny/16 (timm's ViT, patch tokens as the map) on the bundled
# photos: the R18 demo's data, views (128 px: 8 x 8 cells), schedule and evaluation, with
# the ViT's last-block tokens as C5 and an AdamW optimizer as ViTs are trained.
_base_ = ['./pixpro_r18_demo.py']
model = dict(
    backbone=dict(_delete_=True, type='ViT', arch='tiny', patch_size=16, img_size=128,
                  out_indices=(2, 5, 8, 11)),  # the stage-like maps C2..C5 of the evaluation
    neck=dict(in_channels=192, hid_channels=1024, out_channels=128),
)
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05))
work_dir = 'work_dirs/pixpro_vit-t16_demo'
