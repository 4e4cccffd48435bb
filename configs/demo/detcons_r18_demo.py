# CPU demo: DetConS (one network, no target) with a ResNet-18 on the six bundled photos: the
# DetConB demo without predictor and momentum hook.
_base_ = ['./detconb_r18_demo.py']
model = dict(
    _delete_=True,
    type='DetConS',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    loss={{_base_.model.loss}},
    num_masks=16,
)
custom_hooks = [
    dict(type='DenseEvalHook', interval=25, num_images=6, view_size=128, level='C4',
         allow_training_images=True),  # six photos: the demo trains on all of them
]
work_dir = 'work_dirs/detcons_r18_demo'
