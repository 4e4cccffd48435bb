# DetConS, ResNet-50: the SimCLR form of DetCon (one network, no target): projector
# 2048-4096-256 (BN) on each segment's mean C5 feature, 16 segments per view, temperature 0.1.
_base_ = ['./detconb_r50.py']
model = dict(
    _delete_=True,
    type='DetConS',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    loss={{_base_.model.loss}},
    num_masks=16,
)
