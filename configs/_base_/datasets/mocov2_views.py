# MoCo v2 augmentation (Chen et al. 2020, arXiv:2003.04297), both views alike, 224 px:
# crop scale 0.2-1, flip, colour jitter (0.4, 0.4, 0.4, 0.1) with p = 0.8, grayscale p = 0.2,
# Gaussian blur sigma 0.1-2 with p = 0.5. Independent crops (MoCo v2, DenseCL).
# ITU-R 601 luma (PIL's grayscale) in the pipeline's BGR channel order.
LUMA_BGR = (0.114, 0.587, 0.299)
view_pipeline = [
    dict(type='RandomResizedCropWithBox', size=224, scale=(0.2, 1.0), max_attempts=10),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiViewTransform', view_pipelines=[view_pipeline, view_pipeline]),
    dict(type='PackViews'),
]
