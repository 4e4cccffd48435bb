# DetConB, ResNet-50 (Hénaff et al., ICCV 2021; constants from google-deepmind/detcon, read
# for facts): projector 2048-4096-256 and predictor 256-4096-256 (BN, ReLU) on the mean C5
# feature of each segment, 16 segments drawn per view, temperature 0.1; momentum target
# 0.996 -> 1 (cosine, the runtime's MomentumEncoderHook with base 0.996).
_base_ = './pixpro_r50.py'
model = dict(
    _delete_=True,
    type='DetConB',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},  # PixPro's R50 C5 (zero-init residual BN)
    neck=dict(type='ConvMLPNeck', in_channels=2048, hid_channels=4096, out_channels=256,
              num_layers=2, norm_cfg=dict(type='BN')),
    predictor=dict(type='ConvMLPNeck', in_channels=256, hid_channels=4096, out_channels=256,
                   num_layers=2, norm_cfg=dict(type='BN')),
    loss=dict(type='DetConLoss', temperature=0.1),
    num_masks=16,
)
