# CPU demo: VICRegL with a ResNet-18 on the bundled photos, multi-crop as the paper's
# ConvNeXt recipe at demo scale: 2 global views at 128 px (4 x 4 cells) + 2 local views at
# 64 px (2 x 2 cells); the PixPro demo's data, schedule length and evaluation hook; no
# momentum target, so no MomentumEncoderHook.
_base_ = ['./pixpro_r18_demo.py']
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma (PIL's grayscale), BGR order
colour = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
]
global_crop = dict(type='RandomResizedCropWithBox', size=128, scale=(0.4, 1.0))
local_crop = dict(type='RandomResizedCropWithBox', size=64, scale=(0.08, 0.4))
even = [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0)]
odd = [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
       dict(type='Solarize', threshold=128, prob=0.2)]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='MultiViewTransform', view_pipelines=[
        [global_crop] + colour + even, [global_crop] + colour + odd,
        [local_crop] + colour + even, [local_crop] + colour + odd]),
    dict(type='PackViews'),
]))
pairs = 'global_to_all'
alpha = 0.75  # L = alpha * global + (1 - alpha) * local: the losses' loss_weight
model = dict(
    _delete_=True,
    type='VICRegL',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck=dict(type='ConvMLPNeck', in_channels=512, hid_channels=2048, out_channels=2048,
              num_layers=3, with_avg_pool=True, bias_last=False),
    local_neck=dict(type='ConvMLPNeck', in_channels=512, hid_channels=256, out_channels=256,
                    num_layers=3, bias_last=False),
    global_loss=dict(type='VICRegGlobalLoss', loss_weight=alpha),
    feature_head=dict(type='DenseContrastHead', pairs=pairs, reduction='mean',
                      matcher=dict(type='FeatureNearest'),
                      loss=dict(type='VICRegLocalLoss', loss_weight=1 - alpha,
                                name='local_feature')),
    location_head=dict(type='DenseContrastHead', pairs=pairs, reduction='mean',
                       matcher=dict(type='LocationNearest', num_matches=(20, 4)),
                       loss=dict(type='VICRegLocalLoss', loss_weight=1 - alpha,
                                 name='local_location')),
    pairs=pairs,
)
optim_wrapper = dict(optimizer=dict(lr=0.3, weight_decay=1e-6, exclude_bias_and_norm=True))
custom_hooks = [  # the PixPro demo's dense evaluation, no momentum hook
    dict(type='DenseEvalHook', interval=25, images='{{fileDirname}}/heldout_photos.txt',
         num_images=2, pairs_per_image=5, view_size=128, level='C4'),
]
work_dir = 'work_dirs/vicregl_r18_demo'
