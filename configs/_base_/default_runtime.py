# Runtime shared by every pretraining config.
default_scope = 'dense_ssl_mm'
# mmengine's Runner plus checks: a dataloader without a batch, a momentum model without its
# hook (dense_ssl_mm/engine/runners/pretrain_runner.py).
runner_type = 'PretrainRunner'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # NaN/inf loss (checked every iteration at no cost) or weights (every `interval` and
    # before each save) stop the run; no checkpoint with non-finite tensors is written.
    # In default_hooks, not custom_hooks, so derived configs that replace the latter keep it.
    non_finite_guard=dict(type='NonFiniteGuardHook', interval=50),
)
# PixPro: target momentum m0 = 0.99 rising to 1 along a cosine over all optimizer steps.
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.99, end_target_momentum=1.0,
         schedule='cosine')
]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# Models are written with BN; in a distributed run mmengine converts every BN (online and
# target) to torch SyncBN (the reference recipe). A run of one process keeps BN. On CPU
# with several processes (gloo), SyncBN has no CPU path: set `sync_bn=None`.
sync_bn = 'torch'

# scalars.json and images always; TensorBoard event files where tensorboard is installed
vis_backends = [dict(type='LocalVisBackend'), dict(type='OptionalTensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(window_size=10, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
