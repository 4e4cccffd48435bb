# VICRegL's ConvNeXt recipe: 2 global crops at 224 (area 0.4-1) + 6 local crops at 96
# (area 0.08-0.4); the colour of the ResNet recipe (vicregl_views.py), blur / solarize
# alternating by crop: (1.0, 0) for even crops, (0.1, 0.2) for odd ones.
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma, BGR order
colour = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
]
global_crop = dict(type='RandomResizedCropWithBox', size=224, scale=(0.4, 1.0))
local_crop = dict(type='RandomResizedCropWithBox', size=96, scale=(0.08, 0.4))
even = [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0)]
odd = [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
       dict(type='Solarize', threshold=128, prob=0.2)]
view_pipelines = [[global_crop] + colour + even, [global_crop] + colour + odd,
                  [local_crop] + colour + even, [local_crop] + colour + odd,
                  [local_crop] + colour + even, [local_crop] + colour + odd,
                  [local_crop] + colour + even, [local_crop] + colour + odd]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiViewTransform', view_pipelines=view_pipelines),
    dict(type='PackViews'),
]
