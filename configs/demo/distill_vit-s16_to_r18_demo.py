# CPU demo of a frozen teacher of another architecture: a ViT-S/16 teacher (a file; with
# no download here, `python tools/make_timm_teacher.py work_dirs/teachers/vit-s16_timm.pth`
# writes one with random weights in timm's layout) gives the target of a cosine consistency
# for a ResNet-18 student on the same view: the student's C5 map through a 1x1 adapter,
# resampled to the teacher's 7 x 7 grid, every cell matched to itself. The teacher is in no
# optimizer, gets no gradient and is not stored in checkpoints (its file's SHA-256 is).
_base_ = ['../_base_/default_runtime.py']
TEACHER_FILE = 'work_dirs/teachers/vit-s16_timm.pth'
# files the demo needs and the tool that writes each (tools/run_demo.sh runs it if missing)
demo_files = [[TEACHER_FILE, 'tools/make_timm_teacher.py']]
view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=112, scale=(0.3, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
]
model = dict(
    type='Distill',
    backbone=dict(type='ResNet', depth=18, out_indices=(3, ), norm_cfg=dict(type='BN')),
    adapter=dict(type='ConvMLPNeck', in_channels=512, out_channels=384, num_layers=1,
                 norm_cfg=None),
    teachers=dict(teacher=dict(
        type='FrozenTeacher',
        backbone=dict(type='ViT', arch='small', patch_size=16,
                      init_cfg=dict(type='Pretrained', checkpoint=TEACHER_FILE)))),
    head=dict(type='DenseContrastHead', matcher=dict(type='GeometricPositives'),
              loss=dict(type='PixProConsistencyLoss', name='cosine'), pairs='same_view'),
    data_preprocessor=dict(type='ViewDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
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
            dict(type='MultiViewTransform', view_pipelines=[view_pipeline]),
            dict(type='PackViews'),
        ]))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
max_iters = 60
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5,
                        by_epoch=False, begin=0, end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    non_finite_guard=dict(interval=10),
    checkpoint=dict(interval=30, by_epoch=False, max_keep_ckpts=2))
# a frozen teacher needs no hook; the held-out evaluation of the student, as the other demos
EVAL_HOOK = dict(type='DenseEvalHook', interval=20, images='{{fileDirname}}/heldout_photos.txt',
                 num_images=2, pairs_per_image=5, view_size=112, level='C4')
custom_hooks = [EVAL_HOOK]
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
work_dir = 'work_dirs/distill_vit-s16_to_r18_demo'
