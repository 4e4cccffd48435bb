"""The dense evaluation protocols on a model: correspondence PCK and frozen segmentation."""
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from .correspondence_pck import match_errors, nearest_cells, summarize
from .features import extract_features
from .segmentation import knn_segmentation, linear_probe_segmentation, mean_iou
from .views import make_view_batch, normalize, to_tensor


def load_images(paths: Sequence[str], max_side: Optional[int] = 512) -> List[Tensor]:
    """RGB ``(3, H, W)`` float tensors; images whose shorter side exceeds ``max_side`` are
    shrunk (antialiased) so that it equals ``max_side``: views are cut from that copy."""
    images = []
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'cannot read image {path!r}')
        tensor = to_tensor(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        short = min(tensor.shape[-2:])
        if max_side and short > max_side:
            size = [round(s * max_side / short) for s in tensor.shape[-2:]]
            tensor = F.interpolate(tensor[None], size=size, mode='bilinear',
                                   align_corners=False, antialias=True)[0]
        images.append(tensor)
    return images


@torch.no_grad()
def features_of(model: nn.Module, images: Tensor, level: str, batch_size: int = 16,
                progress: bool = False) -> Tensor:
    """``(N, 3, H, W)`` images in [0, 255] -> frozen ``(N, C, h, w)`` features, in batches."""
    device = next(model.parameters()).device
    out = []
    for start in tqdm(range(0, len(images), batch_size), desc=f'features ({level})',
                      disable=not progress, leave=False):
        batch = normalize(images[start:start + batch_size].to(device), model)
        out.append(extract_features(model, batch, level).float())
    return torch.cat(out)


@torch.no_grad()
def evaluate_correspondence(model: nn.Module, images: Sequence[Tensor], level: str,
                            view_size: int = 224, seed: int = 0, batch_size: int = 16,
                            progress: bool = False, **view_kwargs
                            ) -> Tuple[Dict[str, float], dict]:
    """Label-free correspondence PCK over ``images`` (two fixed-seed views each).

    Returns:
        metrics (``corr/pck@1``, ``corr/pck@2``, ``corr/mean_err``, chance levels) and the
        first batch's views, features and matches (for pictures).
    """
    device = next(model.parameters()).device
    errors, visibles, chances, first = [], [], [], None
    for start in tqdm(range(0, len(images), batch_size), desc='correspondence',
                      disable=not progress, leave=False):
        views, boxes, flips = make_view_batch(images[start:start + batch_size], view_size,
                                              seed, start=start, **view_kwargs)
        n = views.shape[1]
        feats = extract_features(model, normalize(views.flatten(0, 1).to(device), model),
                                 level)
        feats = feats.float().unflatten(0, (2, n))
        index = nearest_cells(feats[0], feats[1])
        error, visible, chance = match_errors(feats[0], feats[1], boxes.to(device),
                                              flips.to(device), index)
        errors.append(error.cpu())
        visibles.append(visible.cpu())
        chances.append(chance.cpu())
        if first is None:
            first = dict(views=views, feats=feats.cpu(), error=error.cpu(),
                         visible=visible.cpu(), index=index.cpu())
    return summarize(torch.cat(errors), torch.cat(visibles), torch.cat(chances)), first


@torch.no_grad()
def evaluate_segmentation(model: nn.Module, train: Tuple[Tensor, Tensor],
                          val: Tuple[Tensor, Tensor], level: str, num_classes: int,
                          batch_size: int = 16, knn_k: int = 20, probe_steps: int = 300,
                          progress: bool = False) -> Dict[str, float]:
    """mIoU of the linear probe and of the nearest-neighbour transfer on frozen features.

    Args:
        train, val: ``(images (N, 3, S, S) in [0, 255], labels (N, S, S))``.
    """
    f_train = features_of(model, train[0], level, batch_size, progress)
    f_val = features_of(model, val[0], level, batch_size, progress)
    labels_train = train[1].to(f_train.device)
    labels_val = val[1].to(f_train.device)
    knn = knn_segmentation(f_train, labels_train, f_val, labels_val.shape[-2:], num_classes,
                           k=knn_k)
    linear = linear_probe_segmentation(f_train, labels_train, f_val, num_classes,
                                       steps=probe_steps)
    knn_score = mean_iou(knn, labels_val, num_classes)
    linear_score = mean_iou(linear, labels_val, num_classes)
    return {'seg/linear_miou': linear_score['miou'], 'seg/linear_acc': linear_score['acc'],
            'seg/knn_miou': knn_score['miou'], 'seg/knn_acc': knn_score['acc']}
