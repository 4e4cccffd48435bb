# DetCon's schedule: LARS (eta 0.001, bias and norm excluded), base lr 0.2 x batch / 256
# (batch 4096 -> 3.2), weight decay 1.5e-6, warm-up of epochs / 100 (10) from lr / 1000,
# cosine to 0, all per iteration; mixed precision. 1000 epochs (the PyTorch port's
# reproduction used 300).
lr = 0.2 * 4096 / 256
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=lr, momentum=0.9, weight_decay=1.5e-6, eta=0.001,
                   exclude_bias_and_norm=True))
max_epochs = 1000
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0.0,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=4096)
