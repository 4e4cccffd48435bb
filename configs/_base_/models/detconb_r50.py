# DetConB, ResNet-50 (Hénaff et al., ICCV 2021; constants from google-deepmind/detcon, read
# for facts): projector 2048-4096-256 and predictor 256-4096-256 (BN, ReLU) on the mean C5
# feature of each segment, 16 segments drawn per view, temperature 0.1; momentum target
# 0.996 -> 1 (cosine, the runtime's MomentumEncoderHook with base 0.996).
model = dict(
    type='DetConB',
    data_preprocessor=dict(
        type='ViewDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        zero_init_residual=True),
    neck=dict(type='ConvMLPNeck', in_channels=2048, hid_channels=4096, out_channels=256,
              num_layers=2, norm_cfg=dict(type='BN')),
    predictor=dict(type='ConvMLPNeck', in_channels=256, hid_channels=4096, out_channels=256,
                   num_layers=2, norm_cfg=dict(type='BN')),
    loss=dict(type='DetConLoss', temperature=0.1),
    num_masks=16,
)
