# VADeR trains with MoCo's setup; the recipe below is MoCo v2's (Chen et al. 2020,
# arXiv:2003.04297, "Improved Baselines with Momentum Contrastive Learning"): SGD, lr 0.03 per
# 256 images, momentum 0.9, weight decay 1e-4, cosine decay, 200 epochs, batch 256 (8 x 32).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
max_epochs = 200
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=256)
