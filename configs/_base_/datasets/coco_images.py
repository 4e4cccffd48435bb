# COCO train2017 images, no labels.
data_root = 'data/coco/'
train_dataloader = dict(
    batch_size=128,  # per GPU: 8 x 128 = 1024
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='COCOImageDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img_path='train2017/'),
        on_bad_image='skip'))  # pipeline: set by each config
