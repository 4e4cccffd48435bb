# CPU demo: VADeR with a ResNet-18 + FPN decoder on four bundled photos, 128 px views
# (32 x 32 embeddings), a queue of 768 negatives, 100 iterations: a few minutes on 2 cores.
_base_ = [
    '../_base_/models/vader_r50_fpn.py',
    '../_base_/datasets/mocov2_overlap_views.py',
    '../_base_/default_runtime.py',
]
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma (PIL's grayscale), BGR order
view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=128, scale=(0.2, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
]
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=(64, 128, 256, 512), fpn_channels=128, out_channels=64),
    queue_size=768,  # two batches of keys: random initial negatives are gone after step 2
)
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='ImageListDataset',  # four photos; the other two are held out for evaluation
        data_root='{{fileDirname}}',
        ann_file='{{fileDirname}}/train_photos.txt',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiViewTransform', view_pipelines=[view_pipeline, view_pipeline],
                 min_overlap_area=32),
            dict(type='PackViews'),
        ]))
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.99, schedule='constant'),
    # correspondence PCK of the decoder's stride-4 embeddings every 25 iterations
    dict(type='DenseEvalHook', interval=25, images='{{fileDirname}}/heldout_photos.txt',
         num_images=2, pairs_per_image=5, view_size=128, level='dense'),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
max_iters = 100
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-4, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    non_finite_guard=dict(interval=10),
    checkpoint=dict(interval=50, by_epoch=False, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
work_dir = 'work_dirs/vader_r18_fpn_demo'
