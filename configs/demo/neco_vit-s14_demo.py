# CPU demo: NeCo post-training of a ViT-S/14 that starts from a file in the official DINOv2
# layout, on the bundled training photos; evaluation on the two held-out ones. Nothing can
# be downloaded here, so the file holds random weights; write it first:
#   python tools/make_dinov2_file.py work_dirs/dinov2_vits14_random.pth
#   python tools/train.py configs/demo/neco_vit-s14_demo.py
# (With the real dinov2_vits14_pretrain.pth, pass it as model.backbone.init_cfg.checkpoint.)
# Demo scale: 2 global views at 98 px (7 x 7 patches) + 4 local views at 42 px (3 x 3),
# the recipe's overlap rules, batch 4, 150 iterations; a queue of 256 references; the
# recipe's learning rates x 10 (head 1e-3, ViT 1e-4), as random weights have everything to
# learn. The evaluation (224 px views, 16 x 16 patches) writes PCA pictures of the patch
# tokens before and after.
_base_ = [
    '../_base_/models/neco_vit-s14.py',
    '../_base_/datasets/neco_views.py',
    '../_base_/default_runtime.py',
]
# files the demo needs and the tool that writes each (tools/run_demo.sh runs it if missing)
demo_files = [['work_dirs/dinov2_vits14_random.pth', 'tools/make_dinov2_file.py']]
model = dict(
    backbone=dict(init_cfg=dict(checkpoint='work_dirs/dinov2_vits14_random.pth')),
    queue_size=256,
)
LUMA_BGR = (0.114, 0.587, 0.299)
colour = [  # the recipe's (neco_views.py)
    dict(type='ColorJitter', brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
]
global_crop = dict(type='RandomResizedCropWithBox', size=98, scale=(0.25, 1.0),
                   max_attempts=100)
local_crop = dict(type='RandomResizedCropWithBox', size=42, scale=(0.05, 0.25),
                  max_attempts=100)
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
            dict(type='MultiViewTransform',
                 view_pipelines=[[global_crop] + colour] * 2 + [[local_crop] + colour] * 4,
                 overlap_anchors=2, min_overlap_fraction=[0.0, 0.02, 0.01, 0.01, 0.01, 0.01]),
            dict(type='PackViews'),
        ]))
max_iters = 150
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='FlatDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.04),
    paramwise_cfg=dict(flat_decay_mult=0.0, custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', T_max=max_iters,
         eta_min_ratio=0.5 / 0.04, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    non_finite_guard=dict(interval=10),
    checkpoint=dict(interval=50, by_epoch=False, max_keep_ckpts=2))
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.9995, end_target_momentum=1.0,
         schedule='cosine'),
    dict(type='DenseEvalHook', interval=25, images='{{fileDirname}}/heldout_photos.txt',
         num_images=2, pairs_per_image=5, view_size=224, level='dense'),
]
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
work_dir = 'work_dirs/neco_vit-s14_demo'
