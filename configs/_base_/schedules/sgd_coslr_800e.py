# The MoCo v2 SGD recipe of sgd_coslr_200e.py for 800 epochs, the usual length of COCO-only
# pretraining (DenseCL's and PixPro's COCO tables).
_base_ = ['./sgd_coslr_200e.py']
max_epochs = 800
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
