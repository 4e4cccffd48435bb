# MoCo v2 augmentation (mocov2_views.py), with the second crop drawn to share at least 32 px
# of area with the first (VADeR: views must overlap; up to 10 tries, then the first view's box).
_base_ = ['./mocov2_views.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiViewTransform',
         view_pipelines=[{{_base_.view_pipeline}}, {{_base_.view_pipeline}}],
         min_overlap_area=32),
    dict(type='PackViews'),
]
