# CPU demo: DetConS (one network, no target) with a ResNet-18 on the bundled photos: the
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
    dict(type='DenseEvalHook', interval=25, images='{{fileDirname}}/heldout_photos.txt',
         num_images=2, pairs_per_image=5, view_size=128, level='C4'),
]
work_dir = 'work_dirs/detcons_r18_demo'
