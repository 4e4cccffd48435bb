# CPU demo: DenseCL with a ResNet-18 on the bundled photos: the MoCo v2 demo plus the
# dense branch (4 x 4 cells at 128 px), lambda = 0.5, both queues 64 keys.
_base_ = ['./mocov2_r18_demo.py']
model = dict(
    type='DenseCL',
    dense_neck=dict(type='ConvMLPNeck', in_channels=512, hid_channels=512, out_channels=128,
                    norm_cfg=None),
    head=dict(loss=dict(loss_weight=0.5, name='global')),
    dense_head=dict(type='DenseContrastHead', matcher=dict(type='FeatureArgmax'),
                    loss=dict(type='QueueInfoNCELoss', temperature=0.2, loss_weight=0.5,
                              name='dense'),
                    pairs='one_way'),
)
work_dir = 'work_dirs/densecl_r18_demo'
