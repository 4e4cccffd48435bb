# PixPro, ResNet-50 C5 (7x7 for 224 input), projector 2048-4096-256, PPM gamma=2, T=0.7.
model = dict(
    type='PixPro',
    data_preprocessor=dict(
        type='ViewDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        frozen_stages=-1,
        style='pytorch',
        zero_init_residual=True),  # last BN gamma of each residual block = 0
    neck=dict(
        type='ConvMLPNeck', in_channels=2048, hid_channels=4096, out_channels=256,
        num_layers=2, norm_cfg=dict(type='BN')),
    ppm=dict(type='PixelPropagationModule', channels=256, gamma=2.0, clamp_value=0.0,
             num_transform_layers=1),
    head=dict(type='DenseContrastHead',
              matcher=dict(type='GeometricPositives', pos_threshold=0.7),
              loss=dict(type='PixProConsistencyLoss')),
)
