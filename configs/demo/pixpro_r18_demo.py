# CPU demo: PixPro with a ResNet-18 on four of the six photos bundled in configs/demo/images
# (licences beside them; train_photos.txt), 128 px views (4x4 cells), 150 iterations: a few
# minutes on 2 cores. The other two photos (heldout_photos.txt) are the evaluation's.
_base_ = [
    '../_base_/models/pixpro_r50.py',
    '../_base_/datasets/pixpro_views.py',
    '../_base_/default_runtime.py',
]
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma (PIL's grayscale), BGR order
crop = dict(type='RandomResizedCropWithBox', size=128, scale=(0.2, 1.0))
view_pipeline1 = [
    crop,
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0),
]
view_pipeline2 = view_pipeline1[:4] + [
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
    dict(type='Solarize', threshold=128, prob=0.2),
]
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=1024, out_channels=128),
    ppm=dict(channels=128),
)
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='ImageListDataset',
        data_root='{{fileDirname}}',
        ann_file='{{fileDirname}}/train_photos.txt',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiViewTransform', view_pipelines=[view_pipeline1, view_pipeline2]),
            dict(type='PackViews'),
        ]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.5, momentum=0.9, weight_decay=1e-5, eta=0.001))
max_iters = 150
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', T_max=max_iters - 10, eta_min=1e-4, by_epoch=False,
         begin=10, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    non_finite_guard=dict(interval=10),
    checkpoint=dict(interval=50, by_epoch=False, max_keep_ckpts=2))
# Target momentum as in the base config, plus the dense evaluation: correspondence PCK of
# fixed view pairs of the two held-out photos (10 pairs each) every 25 iterations, PCA
# pictures, a curves PNG at the end.
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.99, end_target_momentum=1.0,
         schedule='cosine'),
    dict(type='DenseEvalHook', interval=25, images='{{fileDirname}}/heldout_photos.txt',
         num_images=2, pairs_per_image=5, view_size=128, level='C4'),
]
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
work_dir = 'work_dirs/pixpro_r18_demo'
