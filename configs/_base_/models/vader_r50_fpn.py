# VADeR: ResNet-50 + FPN decoder -> 128-d unit embeddings at stride 4 (128 x 56 x 56 for a
# 224 input); NCE of P = 32 matched pairs per image against a queue of 65536 negatives from
# other images (MoCo's size; not published for VADeR), temperature 0.07 (MoCo's).
model = dict(
    type='VADeR',
    data_preprocessor=dict(
        type='ViewDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        frozen_stages=-1,
        style='pytorch',
        zero_init_residual=False),
    neck=dict(type='DenseFPNNeck', in_channels=(256, 512, 1024, 2048), fpn_channels=256,
              out_channels=128, norm_cfg=dict(type='BN')),
    head=dict(type='DenseContrastHead',
              matcher=dict(type='MatchedPixelPairs', num_samples=32),
              loss=dict(type='QueueInfoNCELoss', temperature=0.07, name='vader')),
    queue_size=65536,
)
