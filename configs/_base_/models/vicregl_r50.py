# VICRegL, ResNet-50 (Bardes, Ponce, LeCun, NeurIPS 2022; facebookresearch/VICRegL, read for
# the constants): no momentum target. Global expander 2048-8192-8192-8192 on the pooled C5,
# local projector 2048-512-512-512 on every C5 cell (BN; last layers without bias), VICReg
# coefficients 25 / 25 / 1, alpha = 0.75; local matches: every cell to its L2-nearest cell
# (official default, all kept) and the 20 / 4 closest positions, each global view against
# every other view. No target network: a config that takes default_runtime.py sets
# custom_hooks = [] (no MomentumEncoderHook; the hook refuses a model without a target).
pairs = 'global_to_all'
alpha = 0.75  # L = alpha * global + (1 - alpha) * local: the losses' loss_weight
_base_ = './pixpro_r50.py'
model = dict(
    _delete_=True,
    type='VICRegL',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},  # PixPro's R50 C5 (zero-init residual BN)
    neck=dict(type='ConvMLPNeck', in_channels=2048, hid_channels=8192, out_channels=8192,
              num_layers=3, with_avg_pool=True, bias_last=False),
    local_neck=dict(type='ConvMLPNeck', in_channels=2048, hid_channels=512, out_channels=512,
                    num_layers=3, bias_last=False),
    global_loss=dict(type='VICRegGlobalLoss', inv_weight=25.0, var_weight=25.0, cov_weight=1.0,
                     loss_weight=alpha),
    feature_head=dict(type='DenseContrastHead', pairs=pairs, reduction='mean',
                      matcher=dict(type='FeatureNearest', num_matches=None),
                      loss=dict(type='VICRegLocalLoss', loss_weight=1 - alpha,
                                name='local_feature')),
    location_head=dict(type='DenseContrastHead', pairs=pairs, reduction='mean',
                       matcher=dict(type='LocationNearest', num_matches=(20, 4)),
                       loss=dict(type='VICRegLocalLoss', loss_weight=1 - alpha,
                                 name='local_location')),
    pairs=pairs,
)
