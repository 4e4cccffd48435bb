# PixContrast, ResNet-50 C5, projector 2048-4096-256, InfoNCE with T=0.7, tau=0.3.
_base_ = './pixpro_r50.py'
model = dict(
    _delete_=True,
    type='PixContrast',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head=dict(type='DenseContrastHead',
              matcher=dict(type='GeometricPositives', pos_threshold=0.7),
              loss=dict(type='PixContrastLoss', temperature=0.3)),
)
