# CPU demo: DetConB with a ResNet-18 on the bundled photos (the PixPro demo's data,
# 128 px views, schedule and evaluation hook). FH masks are computed at the first sight of
# each photo and cached under work_dirs/demo_fh_masks (tools/make_fh_masks.py does it ahead).
_base_ = ['./pixpro_r18_demo.py']
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma (PIL's grayscale), BGR order
crop = dict(type='RandomResizedCropWithBox', size=128, scale=(0.2, 1.0))
colour = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadFHMask', img_root='{{fileDirname}}',
         mask_root='work_dirs/demo_fh_masks', on_missing='compute_and_cache'),
    dict(type='MultiViewTransform', view_pipelines=[
        [crop] + colour + [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0)],
        [crop] + colour + [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
                           dict(type='Solarize', threshold=128, prob=0.2)]]),
    dict(type='MasksToViews'),
    dict(type='PackViews'),
]))
model = dict(
    _delete_=True,
    type='DetConB',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck=dict(type='ConvMLPNeck', in_channels=512, hid_channels=1024, out_channels=128),
    predictor=dict(type='ConvMLPNeck', in_channels=128, hid_channels=1024, out_channels=128),
    loss=dict(type='DetConLoss', temperature=0.1),
    num_masks=16,
)
custom_hooks = [
    dict(type='MomentumEncoderHook', base_target_momentum=0.996, end_target_momentum=1.0,
         schedule='cosine'),
    dict(type='DenseEvalHook', interval=25, images='{{fileDirname}}/heldout_photos.txt',
         num_images=2, pairs_per_image=5, view_size=128, level='C4'),
]
work_dir = 'work_dirs/detconb_r18_demo'
