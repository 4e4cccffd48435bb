# ImageNet-1k train images (every image under train/, recursively), no labels.
data_root = 'data/imagenet/'
train_dataloader = dict(
    batch_size=128,  # per GPU: 8 x 128 = 1024
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='ImageFolderDataset',
        data_root=data_root,
        data_prefix=dict(img_path='train/'),
        on_bad_image='skip'))  # pipeline: set by each config
