# PixPro recipe: LARS (eta 0.001, BN and bias excluded from decay and adaptation), base lr
# 1.0 x batch / 256 (batch 1024 -> 4.0), weight decay 1e-5, 5 warm-up epochs from lr/100,
# cosine to 1e-6, all per iteration. Mixed precision (AmpOptimWrapper; tools/train.py falls
# back to fp32 where there is no GPU).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=4.0, momentum=0.9, weight_decay=1e-5, eta=0.001,
                   exclude_bias_and_norm=True))
max_epochs = 100
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# `tools/train.py --auto-scale-lr` rescales lr to the real total batch (lr = 4.0 x bs / 1024).
auto_scale_lr = dict(enable=False, base_batch_size=1024)
