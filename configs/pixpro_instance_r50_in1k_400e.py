# PixPro + instance branch (section 3.4), ImageNet-1k 400 epochs (paper: 41.4/37.4 COCO AP).
# The branch's loss weight is not published; the released scripts use 0 (no branch). 1.0 here.
_base_ = './pixpro_r50_in1k_400e.py'
model = dict(
    instance_neck=dict(type='ConvMLPNeck', in_channels=2048, hid_channels=4096,
                       out_channels=256, num_layers=2, norm_cfg=dict(type='BN')),
    instance_predictor=dict(type='ConvMLPNeck', in_channels=256, hid_channels=4096,
                            out_channels=256, num_layers=2, norm_cfg=dict(type='BN')),
    instance_head=dict(type='DenseContrastHead', matcher=None, pairs='symmetric',
                       loss=dict(type='InstanceConsistencyLoss', loss_weight=1.0)),
)
