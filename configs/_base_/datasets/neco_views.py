# NeCo's views (the official neco_224x224 recipe): 2 global crops at 224 px (area 0.25-1)
# and 4 local crops at 98 px (area 0.05-0.25), bilinear, no flip; every crop: jitter
# (0.8, 0.8, 0.8, 0.2) p = 0.8, grayscale p = 0.2, blur sigma 0.1-2 p = 0.5. Overlap: the
# second global crop shares >= 2 % of the image with the first, every local crop >= 1 % with
# each global crop (redrawn up to 100 times; the rare fallback is the globals' intersection).
# The 518 px recipe: global_size = 518 (37 x 37 patches of 14 px).
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601 luma (torchvision's grayscale), BGR order
global_size, local_size = 224, 98
colour = [
    dict(type='ColorJitter', brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=LUMA_BGR),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
]
global_crop = dict(type='RandomResizedCropWithBox', size=global_size, scale=(0.25, 1.0),
                   max_attempts=100)
local_crop = dict(type='RandomResizedCropWithBox', size=local_size, scale=(0.05, 0.25),
                  max_attempts=100)
view_pipelines = [[global_crop] + colour] * 2 + [[local_crop] + colour] * 4
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiViewTransform', view_pipelines=view_pipelines, overlap_anchors=2,
         min_overlap_fraction=[0.0, 0.02, 0.01, 0.01, 0.01, 0.01]),
    dict(type='PackViews'),
]
