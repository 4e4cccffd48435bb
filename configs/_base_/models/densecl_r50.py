# DenseCL (Wang et al., CVPR 2021, "Dense Contrastive Learning for Self-Supervised Visual
# Pre-Training"; facts from the paper and github.com/WXinlong/DenseCL): MoCo v2 (global head,
# queue) plus a dense head conv1x1 2048 -> 2048, ReLU, conv1x1 -> 128 over the 7 x 7 C5 map;
# each view-1 cell is matched to the view-2 cell of highest backbone-feature similarity;
# InfoNCE with temperature 0.2 against a second queue of 65536 image-averaged dense keys;
# loss = (1 - lambda) * global + lambda * dense with lambda = 0.5 (the losses' loss_weight).
_base_ = ['./mocov2_r50.py']
model = dict(
    type='DenseCL',
    dense_neck=dict(type='ConvMLPNeck', in_channels=2048, hid_channels=2048, out_channels=128,
                    norm_cfg=None),
    head=dict(loss=dict(loss_weight=0.5, name='global')),
    dense_head=dict(type='DenseContrastHead', matcher=dict(type='FeatureArgmax'),
                    loss=dict(type='QueueInfoNCELoss', temperature=0.2, loss_weight=0.5,
                              name='dense'),
                    pairs='one_way'),
)
