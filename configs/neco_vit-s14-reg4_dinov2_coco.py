# NeCo from DINOv2 ViT-S/14 with 4 registers (dinov2_vits14_reg4_pretrain.pth): the recipe
# of neco_vit-s14_dinov2_coco.py (the official small register configuration keeps the
# backbone lr at 1e-5; its ViT-B register configuration lowers it to 1e-6).
_base_ = ['./neco_vit-s14_dinov2_coco.py']
model = dict(backbone=dict(
    reg_tokens=4,
    init_cfg=dict(checkpoint='checkpoints/dinov2_vits14_reg4_pretrain.pth')))
