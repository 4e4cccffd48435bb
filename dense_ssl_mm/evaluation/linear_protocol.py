"""The linear segmentation probe as NeCo and Leopart report it, with its resolution named.

Frozen features of images at ``size`` (the reference: 448) with a random resized crop (scale
0.8-1) and a horizontal flip per training image; the feature map is upsampled bilinearly to
``resolution x resolution`` (the reference: 100; ``'full'``: the input size), a 1 x 1 conv
gives class scores, trained with cross-entropy (255 ignored) against the mask resized
(nearest) to the same resolution; SGD lr 0.01, momentum 0.9, weight decay 1e-4, 25 epochs,
lr x 0.1 at epoch 20 (at 80 % of the epochs when fewer are run). Scored at that resolution on
the validation set, identity matching, mIoU over all classes. The DINOv2 protocol (BN + 1 x 1
conv, AdamW, 40k iterations, full-resolution sliding window) is a different number: always
name the protocol.
"""
from typing import Dict, Optional, Union

import torch
import torch.nn.functional as F

from .hummingbird import PairReader, crop_params
from .matching import matched_miou
from .seg_data import load_pairs
from .segmentation import IGNORE


def _augment(image, mask, size: int, gen: torch.Generator):
    top, left, h, w = crop_params(image.shape[-2], image.shape[-1], gen, scale=(0.8, 1.0))
    img = F.interpolate(image[None, :, top:top + h, left:left + w], size=(size, size),
                        mode='bilinear', align_corners=False, antialias=True)[0]
    lab = F.interpolate(mask[None, None, top:top + h, left:left + w].float(),
                        size=(size, size), mode='nearest')[0, 0]
    if float(torch.rand(1, generator=gen)) < 0.5:
        img, lab = img.flip(-1), lab.flip(-1)
    return img.clamp(0, 255), lab.long()


def linear_probe_protocol(feature_fn, train_pairs, val_pairs, num_classes: int,
                          size: int = 448, resolution: Union[int, str] = 100,
                          epochs: int = 25, lr: float = 0.01, batch_size: int = 16,
                          seed: int = 0, reduce_zero_label: bool = False, progress=None,
                          level: Optional[str] = None) -> Dict[str, object]:
    """Train the probe on ``train_pairs`` and score it on ``val_pairs`` (path pairs).

    Args:
        feature_fn: ``(B, 3, size, size)`` images in [0, 255] -> frozen ``(B, C, h, w)``
            features (normalisation included), e.g. ``features_of`` of a model.
    """
    out_res = size if resolution == 'full' else int(resolution)
    reader = PairReader(train_pairs, reduce_zero_label)
    gen = torch.Generator().manual_seed(seed)
    probe = feature_fn(torch.zeros(1, 3, size, size))
    device = probe.device
    head = torch.nn.Conv2d(probe.shape[1], num_classes, 1).to(device)
    torch.manual_seed(seed)  # the head's initialisation
    head.reset_parameters()
    optimizer = torch.optim.SGD(head.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    milestone = 20 if epochs == 25 else max(1, round(0.8 * epochs))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [milestone], 0.1)
    steps = [(e, s) for e in range(epochs) for s in range(0, len(reader), batch_size)]
    order = None
    for epoch, start in (progress(steps) if progress else steps):
        if start == 0:
            order = torch.randperm(len(reader), generator=gen).tolist()
            if epoch:
                scheduler.step()
        batch = [_augment(*reader[i], size, gen) for i in order[start:start + batch_size]]
        images = torch.stack([b[0] for b in batch])
        masks = torch.stack([b[1] for b in batch])
        target = F.interpolate(masks[:, None].float(), size=(out_res, out_res),
                               mode='nearest')[:, 0].long().to(device)
        with torch.no_grad():
            feats = feature_fn(images)
        with torch.enable_grad():
            logits = F.interpolate(head(feats), size=(out_res, out_res), mode='bilinear',
                                   align_corners=False)
            loss = F.cross_entropy(logits, target, ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    val_images, val_labels = load_pairs(val_pairs, size, reduce_zero_label)
    preds = []
    with torch.no_grad():
        for s in range(0, len(val_images), batch_size):
            feats = feature_fn(val_images[s:s + batch_size])
            logits = F.interpolate(head(feats), size=(out_res, out_res), mode='bilinear',
                                   align_corners=False)
            preds.append(logits.argmax(1).cpu())
    target = F.interpolate(val_labels[:, None].float(), size=(out_res, out_res),
                           mode='nearest')[:, 0].long()
    score = matched_miou(torch.cat(preds), target, num_classes, mode='identity')
    return dict(protocol='linear', miou=score['miou'], per_class_iou=score['per_class_iou'],
                settings=dict(size=size, resolution=f'{out_res} x {out_res}'
                              + (' (full: the input size)' if resolution == 'full' else ''),
                              level=level, epochs=epochs, lr=lr, momentum=0.9,
                              weight_decay=1e-4, milestone=milestone, crop_scale=[0.8, 1.0],
                              flip=True, seed=seed, train_images=len(train_pairs),
                              val_images=len(val_pairs), num_classes=num_classes,
                              final_train_loss=float(loss.detach())))
