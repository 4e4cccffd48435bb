# DetConS R50 on ImageNet-1k: DetConB's data, views and schedule, one network (no target,
# so no predictor and no MomentumEncoderHook).
_base_ = ['./detconb_r50_in1k_1000e.py']
model = dict(
    _delete_=True,
    type='DetConS',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    loss={{_base_.model.loss}},
    num_masks=16,
)
custom_hooks = []
