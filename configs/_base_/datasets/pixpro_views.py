# The asymmetric BYOL augmentation of the PixPro reference, 224 px per view.
# ITU-R 601 luma (PIL's grayscale) in the pipeline's BGR channel order.
LUMA_BGR = (0.114, 0.587, 0.299)
view_pipeline1 = [
    dict(type='RandomResizedCropWithBox', size=224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0),
]
view_pipeline2 = [
    dict(type='RandomResizedCropWithBox', size=224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
    dict(type='Solarize', threshold=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PairedViewTransform', view_pipelines=[view_pipeline1, view_pipeline2]),
    dict(type='PackViews'),
]
