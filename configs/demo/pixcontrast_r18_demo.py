# CPU demo: PixContrast with a ResNet-18 on the bundled photos: the PixPro demo's data,
# schedule and hooks, with the pixel-level InfoNCE head (T = 0.7, tau = 0.3) and no PPM.
_base_ = ['./pixpro_r18_demo.py']
model = dict(
    _delete_=True,
    type='PixContrast',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head=dict(type='DenseContrastHead',
              matcher=dict(type='GeometricPositives', pos_threshold=0.7),
              loss=dict(type='PixContrastLoss', temperature=0.3)))
work_dir = 'work_dirs/pixcontrast_r18_demo'
