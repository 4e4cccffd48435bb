# DetCon's views: two crops (area 0.08-1, aspect 3/4-4/3), flip 0.5, 224 px; BYOL colour:
# jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grayscale 0.2, blur sigma 0.1-2 p 1.0 / 0.1, solarize
# p 0 / 0.2. Each view's mask is cut with the view's own box and flip (nearest) by
# MasksToViews; the images use antialiased bilinear (the reference: bicubic).
# A top-level config builds the pipeline with its image root (LoadFHMask needs it):
#   [LoadImageFromFile, LoadFHMask(img_root=...), MultiViewTransform(view_pipelines),
#    MasksToViews, PackViews]
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma, BGR order
crop = dict(type='RandomResizedCropWithBox', size=224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3))
colour = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
]
view_pipelines = [
    [crop] + colour + [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0)],
    [crop] + colour + [dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
                       dict(type='Solarize', threshold=128, prob=0.2)],
]
