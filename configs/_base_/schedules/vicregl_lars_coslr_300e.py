# VICRegL's ResNet schedule: LARS (eta 0.001, bias and norm excluded from decay and
# adaptation), base lr 0.2 x batch / 256 (batch 2048 -> 1.6), weight decay 1e-6, 10 warm-up
# epochs from lr / 1000, cosine to 0.001 x peak, all per iteration; mixed precision.
lr = 0.2 * 2048 / 256
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=lr, momentum=0.9, weight_decay=1e-6, eta=0.001,
                   exclude_bias_and_norm=True))
max_epochs = 300
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=lr * 1e-3,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# `tools/train.py --auto-scale-lr` rescales lr to the real total batch (lr = 1.6 x bs / 2048).
auto_scale_lr = dict(enable=False, base_batch_size=2048)
