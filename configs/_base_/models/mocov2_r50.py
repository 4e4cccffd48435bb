# MoCo v2 (Chen et al. 2020, arXiv:2003.04297): ResNet-50, global MLP head 2048 -> 2048 -> 128
# (no BN), InfoNCE with temperature 0.2 against a queue of 65536 keys, one direction (query
# view 1, key view 2), momentum encoder m = 0.999 (set by each config's MomentumEncoderHook).
model = dict(
    type='MoCoV2',
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
        zero_init_residual=False),
    neck=dict(type='ConvMLPNeck', in_channels=2048, hid_channels=2048, out_channels=128,
              norm_cfg=None, with_avg_pool=True),
    head=dict(type='DenseContrastHead', matcher=dict(type='WholeImage'),
              loss=dict(type='QueueInfoNCELoss', temperature=0.2, name='moco'),
              pairs='one_way'),
    queue_size=65536,
)
