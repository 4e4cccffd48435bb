# VICRegL's ResNet recipe: 2 crops at 224 (area 0.08-1), flip 0.5; BYOL colour: jitter
# (0.4, 0.4, 0.2, 0.1) p 0.8, grayscale 0.2, blur p 1.0 / 0.1, solarize p 0 / 0.2.
# Resize: antialiased bilinear (PIL's; the official code uses PIL's antialiased bicubic).
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma, BGR order
colour = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
]
global_crop = dict(type='RandomResizedCropWithBox', size=224, scale=(0.08, 1.0))
view_a = [global_crop] + colour + [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0)]
view_b = [global_crop] + colour + [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
                                   dict(type='Solarize', threshold=128, prob=0.2)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiViewTransform', view_pipelines=[view_a, view_b]),
    dict(type='PackViews'),
]
