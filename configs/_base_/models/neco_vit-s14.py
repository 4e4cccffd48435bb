# NeCo on a DINOv2 ViT-S/14: the student (drop path 0.1) starts from a DINOv2-layout file
# (model.backbone.init_cfg.checkpoint), a per-patch head 384 -> 2048 -> 2048 -> 256 (GELU,
# truncated-normal init, output L2-normalised), an EMA teacher, 2 reference queues of 8192
# teacher patches, RoIAlign 7 x 7, 49 references, sorting steepness 100 for both.
model = dict(
    type='NeCo',
    data_preprocessor=dict(type='ViewDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(type='ViT', arch='small', patch_size=14, img_size=518, layer_scale=1e-5,
                  drop_path_rate=0.1, pos_interpolation='dinov2', out_indices=(2, 5, 8, 11),
                  init_cfg=dict(type='Pretrained',
                                checkpoint='checkpoints/dinov2_vits14_pretrain.pth')),
    neck=dict(type='ConvMLPNeck', in_channels=384, hid_channels=2048, out_channels=256,
              num_layers=3, norm_cfg=None, act_cfg=dict(type='GELU'),
              init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.02, bias=0.0)),
    loss=dict(type='NeighbourSortingLoss', student_steepness=100.0, teacher_steepness=100.0),
    num_global=2, roi_size=7, queue_size=8192, queue_per_image=10,
)
