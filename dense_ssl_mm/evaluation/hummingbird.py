"""Dense nearest-neighbour retrieval ("Hummingbird", Balazevic et al., NeurIPS 2023), as the
open-hummingbird-eval reference computes it.

Protocol (every constant as in the reference; see ``../shared/docs/evaluation.md``):

- Images and masks square at ``size`` (224); features on an ``S x S`` grid, ``S = size /
  stride``; normalisation mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.255) (the 0.255 is
  the reference's).
- Memory: ``passes`` (2) augmented passes over the training images: one random resized crop
  shared by image and mask (scale 0.5-2.0, ratio 3/4-4/3, torchvision's draw), then four
  separate colour jitters (brightness, contrast, saturation, hue; 0.1 each, p 0.5 each, in
  that order); no flip. Ignored pixels (255) count as class 0 (background) in the memory.
  A cell's label is the mean one-hot of its pixels; features are L2-normalised.
- With a memory size ``M``, every image gives ``K = max(1, M // (N_train * passes))`` cells:
  a cell's score is the sum, over the classes it contains, of the number of the image's
  cells containing that class, times U(0, 1); the ``K`` lowest scores are kept (rare classes
  favoured). Without ``M`` every cell is kept.
- Retrieval: the ``k`` (30) nearest memory cells by inner product (exact: faiss's flat index
  where faiss is installed, else a chunked matrix product; both give the same neighbours);
  the cell's label is the softmax(cos / 0.02)-weighted mean of their labels; the ``S x S``
  label map is upsampled bilinearly to ``size`` and its argmax is the prediction.
- Score: the confusion matrix over all classes (255 ignored), predictions matched to classes
  by Hungarian matching on IoU (usually the identity), mIoU over **all** classes (a class
  absent from labels and predictions counts 0, as in the reference).
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.models.data_preprocessors.view_ops import (
    adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation)
from .matching import faiss_backend, matched_miou
from .segmentation import IGNORE

HB_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
HB_STD = (0.229 * 255, 0.224 * 255, 0.255 * 255)
CROP_SCALE = (0.5, 2.0)
CROP_RATIO = (3 / 4, 4 / 3)
JITTER = 0.1
JITTER_PROB = 0.5


def crop_params(height: int, width: int, gen: torch.Generator,
                scale: Tuple[float, float] = CROP_SCALE,
                ratio: Tuple[float, float] = CROP_RATIO) -> Tuple[int, int, int, int]:
    """``(top, left, h, w)`` by torchvision's ``RandomResizedCrop`` rule: 10 attempts of an
    area share in ``scale`` and a log-uniform aspect ratio, accepted when the box fits; else
    the centred box of the clamped ratio."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * float(torch.empty(1).uniform_(scale[0], scale[1], generator=gen))
        aspect = math.exp(float(torch.empty(1).uniform_(*log_ratio, generator=gen)))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1, ), generator=gen))
            left = int(torch.randint(0, width - w + 1, (1, ), generator=gen))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def augment_pair(image: Tensor, mask: Tensor, size: int, gen: torch.Generator
                 ) -> Tuple[Tensor, Tensor]:
    """The memory's augmentation of one ``(3, H, W)`` RGB [0, 255] image and its ``(H, W)``
    mask: shared random resized crop (image bilinear with antialiasing, mask nearest) to
    ``size x size``, then the four colour jitters."""
    top, left, h, w = crop_params(image.shape[-2], image.shape[-1], gen)
    crop = image[None, :, top:top + h, left:left + w].float()
    out = F.interpolate(crop, size=(size, size), mode='bilinear', align_corners=False,
                        antialias=True).clamp(0, 255)
    label = F.interpolate(mask[None, None, top:top + h, left:left + w].float(),
                          size=(size, size), mode='nearest')[0, 0].to(mask.dtype)
    bgr = out.flip(1)  # the jitter ops take BGR (their grey is ITU-R 601 luma)
    for op in ('brightness', 'contrast', 'saturation', 'hue'):
        if float(torch.rand(1, generator=gen)) >= JITTER_PROB:
            continue
        if op == 'hue':
            bgr = adjust_hue(bgr, torch.empty(1).uniform_(-JITTER, JITTER, generator=gen))
            continue
        factor = torch.empty(1).uniform_(1 - JITTER, 1 + JITTER, generator=gen)
        bgr = dict(brightness=adjust_brightness, contrast=adjust_contrast,
                   saturation=adjust_saturation)[op](bgr, factor)
    return bgr.flip(1)[0], label


def soft_cell_labels(labels: Tensor, num_classes: int, grid: int) -> Tensor:
    """``(N, H, W)`` label maps (255 counted as class 0) -> ``(N, grid * grid, K)`` mean
    one-hot of each cell's pixels (``H`` and ``W`` multiples of ``grid``)."""
    n, h, w = labels.shape
    if h % grid or w % grid:
        raise ValueError(f'label maps of {h} x {w} do not split into {grid} x {grid} cells')
    lab = labels.long().clone()
    lab[lab == IGNORE] = 0
    if int(lab.max()) >= num_classes:
        raise ValueError(f'label {int(lab.max())} outside [0, {num_classes})')
    onehot = F.one_hot(lab, num_classes).permute(0, 3, 1, 2).float()  # [N, K, H, W]
    pooled = F.avg_pool2d(onehot, (h // grid, w // grid))  # [N, K, grid, grid]
    return pooled.flatten(2).transpose(1, 2)


def sample_cells(cell_labels: Tensor, count: int, gen: torch.Generator) -> Tensor:
    """Indices ``(N, count)`` of the cells kept per image by the reference's rule: score =
    sum over the classes present in the cell of the number of the image's cells holding that
    class, times U(0, 1); the ``count`` lowest scores. Empty cells (no pixel) score 1e6."""
    presence = cell_labels > 0  # [N, C, K]
    class_cells = presence.sum(1, keepdim=True).float()  # [N, 1, K]
    scores = (presence.float() * class_cells).sum(2)  # [N, C]
    nonempty = presence.any(2)
    noise = torch.rand(scores.shape, generator=gen)
    scores = torch.where(nonempty, scores * noise, torch.full_like(scores, 1e6))
    return scores.topk(min(count, scores.shape[1]), dim=1, largest=False).indices


def nearest(memory: Tensor, queries: Tensor, k: int, backend: str = 'auto',
            chunk: int = 4096) -> Tuple[Tensor, Tensor]:
    """Exact ``k`` nearest memory rows by inner product: ``(scores, indices)``, each
    ``(Q, k)``, best first. ``backend``: ``'faiss'`` (flat inner-product index), ``'torch'``
    (chunked matrix product) or ``'auto'`` (faiss when installed)."""
    faiss = faiss_backend(backend)
    k = min(k, memory.shape[0])
    if faiss is not None:
        index = faiss.IndexFlatIP(memory.shape[1])
        index.add(np.ascontiguousarray(memory.float().cpu().numpy()))
        scores, idx = index.search(np.ascontiguousarray(queries.float().cpu().numpy()), k)
        return (torch.from_numpy(scores).to(queries.device),
                torch.from_numpy(idx).long().to(queries.device))
    mem = memory.to(queries.device, queries.dtype)
    scores, idx = [], []
    for start in range(0, queries.shape[0], chunk):
        s, i = (queries[start:start + chunk] @ mem.t()).topk(k, dim=1)
        scores.append(s)
        idx.append(i)
    return torch.cat(scores), torch.cat(idx)


def transfer_labels(memory: Tensor, memory_labels: Tensor, queries: Tensor, k: int = 30,
                    temperature: float = 0.02, backend: str = 'auto') -> Tensor:
    """``(Q, D)`` query features -> ``(Q, C)`` labels: softmax(cos / T)-weighted mean of the
    labels of the ``k`` nearest memory rows (``memory`` L2-normalised)."""
    _, idx = nearest(memory, queries, k, backend)
    keys = memory.to(queries.device)[idx]  # [Q, k, D]
    cos = torch.einsum('qd,qkd->qk', F.normalize(queries, dim=1), F.normalize(keys, dim=2))
    weight = (cos / temperature).softmax(1)
    return torch.einsum('qk,qkc->qc', weight, memory_labels.to(queries.device)[idx])


def hungarian_miou(pred: Tensor, labels: Tensor, num_classes: int,
                   match: bool = True) -> Dict[str, object]:
    """The reference's score (``PredsmIoU``): :func:`matched_miou` with Hungarian matching
    (or the identity with ``match=False``)."""
    return matched_miou(pred, labels, num_classes, num_classes,
                        'hungarian' if match else 'identity')


class PairReader:
    """Training ``(image, mask)`` pairs read on access at their own size: ``(3, H, W)`` RGB
    float in [0, 255] and ``(H, W)`` uint8 (``reduce_zero_label``: 0 -> 255, k -> k - 1)."""

    def __init__(self, pairs: Sequence[Tuple[str, str]], reduce_zero_label: bool = False):
        self.pairs, self.reduce_zero_label = list(pairs), reduce_zero_label

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        from PIL import Image
        image_path, mask_path = self.pairs[index]
        image = np.asarray(Image.open(image_path).convert('RGB'))
        mask = np.array(Image.open(mask_path))
        if mask.ndim != 2:
            raise ValueError(f'mask {mask_path!r} is not a single-channel label map')
        if image.shape[:2] != mask.shape:
            raise ValueError(f'image {image_path!r} is {image.shape[:2]} but its mask '
                             f'{mask_path!r} is {mask.shape}')
        mask = mask.astype(np.int64)
        if self.reduce_zero_label:
            mask = np.where(mask == 0, IGNORE + 1, mask) - 1
            mask[mask >= IGNORE - 1] = IGNORE
        image = torch.from_numpy(image.copy()).permute(2, 0, 1).float()
        return image, torch.from_numpy(mask.astype(np.uint8))


def build_memory(feature_fn, samples: Sequence[Tuple[Tensor, Tensor]], size: int,
                 num_classes: int, passes: int = 2, memory_size: Optional[int] = None,
                 seed: int = 0, batch_size: int = 16, progress=None) -> Tuple[Tensor, Tensor]:
    """The memory: ``(M', D)`` L2-normalised cell features and ``(M', C)`` soft labels.

    Args:
        feature_fn: ``(B, 3, size, size)`` images in [0, 255] -> ``(B, D, S, S)`` features
            (normalisation included).
        samples: Training ``(image, mask)`` pairs: ``(3, H, W)`` RGB [0, 255] and ``(H, W)``
            label maps, any sizes (e.g. a :class:`PairReader`).
        size: Input size of the protocol.
        num_classes: Number of classes.
        passes: Augmented passes over the training set.
        memory_size: ``M`` (None: every cell of every pass).
        seed: Seed of the augmentation and of the sampling noise.
        batch_size: Images per feature batch.
        progress: Optional callable wrapping an iterable (a progress bar).
    """
    gen = torch.Generator().manual_seed(seed)
    per_image = None
    if memory_size is not None:
        per_image = max(1, memory_size // max(1, len(samples) * passes))
    feats, labels = [], []
    batches = [(p, s) for p in range(passes) for s in range(0, len(samples), batch_size)]
    for _, start in (progress(batches) if progress else batches):
        pairs = [augment_pair(*samples[i], size, gen)
                 for i in range(start, min(start + batch_size, len(samples)))]
        x = torch.stack([p[0] for p in pairs])
        f = feature_fn(x)  # [B, D, S, S]
        grid = f.shape[-1]
        soft = soft_cell_labels(torch.stack([p[1] for p in pairs]), num_classes, grid)
        f = F.normalize(f.flatten(2).transpose(1, 2).float(), dim=2)  # [B, S*S, D]
        if per_image is not None:
            keep = sample_cells(soft, per_image, gen)  # [B, K]
            f = f.gather(1, keep[..., None].expand(-1, -1, f.shape[2]).to(f.device))
            soft = soft.gather(1, keep[..., None].expand(-1, -1, soft.shape[2]))
        feats.append(f.reshape(-1, f.shape[-1]).cpu())
        labels.append(soft.reshape(-1, num_classes))
    return torch.cat(feats), torch.cat(labels)


def hummingbird_predict(feature_fn, memory: Tensor, memory_labels: Tensor, images: Tensor,
                        k: int = 30, temperature: float = 0.02, backend: str = 'auto',
                        batch_size: int = 16) -> Tensor:
    """``(N, 3, size, size)`` validation images in [0, 255] -> ``(N, size, size)`` classes."""
    preds = []
    for start in range(0, len(images), batch_size):
        f = feature_fn(images[start:start + batch_size]).float()  # [B, D, S, S]
        b, d, s, _ = f.shape
        scores = transfer_labels(memory, memory_labels, f.flatten(2).transpose(1, 2)
                                 .reshape(-1, d), k, temperature, backend)
        scores = scores.reshape(b, s, s, -1).permute(0, 3, 1, 2)
        up = F.interpolate(scores, size=images.shape[-2:], mode='bilinear',
                           align_corners=False)
        preds.append(up.argmax(1).cpu())
    return torch.cat(preds)


def protocol_features(model, level: str):
    """The feature function of the protocol: reference normalisation, then ``level``."""
    from .features import extract_features

    @torch.no_grad()
    def feature_fn(images: Tensor) -> Tensor:
        device = next(model.parameters()).device
        x = images.to(device)
        mean = x.new_tensor(HB_MEAN).view(1, 3, 1, 1)
        std = x.new_tensor(HB_STD).view(1, 3, 1, 1)
        return extract_features(model, (x - mean) / std, level)

    return feature_fn


def evaluate_hummingbird(model, level: str, train_pairs, val_pairs, num_classes: int,
                         size: int = 224, passes: int = 2, memory_size: Optional[int] = None,
                         k: int = 30, temperature: float = 0.02, seed: int = 0,
                         backend: str = 'auto', reduce_zero_label: bool = False,
                         batch_size: int = 16, progress=None) -> Dict[str, object]:
    """The whole protocol on ``(image, mask)`` path pairs; metrics with their settings."""
    from .seg_data import load_pairs
    feature_fn = protocol_features(model, level)
    stride = size // feature_fn(torch.zeros(1, 3, size, size)).shape[-1]
    if size % stride:
        raise ValueError(f'hummingbird: size {size} is not a multiple of the {level} stride '
                         f'{stride}')
    memory, memory_labels = build_memory(feature_fn, PairReader(train_pairs, reduce_zero_label),
                                         size, num_classes, passes, memory_size, seed,
                                         batch_size, progress)
    val_images, val_labels = load_pairs(val_pairs, size, reduce_zero_label)
    pred = hummingbird_predict(feature_fn, memory, memory_labels, val_images, k, temperature,
                               backend, batch_size)
    scores = hungarian_miou(pred, val_labels, num_classes)
    search = 'torch (exact)' if faiss_backend(backend) is None else 'faiss IndexFlatIP'
    return dict(protocol='hummingbird', miou=scores['miou'],
                per_class_iou=scores['per_class_iou'],
                identity_mapping=scores['identity_mapping'],
                settings=dict(size=size, level=level, stride=stride, passes=passes,
                              memory_size=memory_size, memory_rows=int(memory.shape[0]),
                              k=k, temperature=temperature, seed=seed, search=search,
                              train_images=len(train_pairs), val_images=len(val_pairs),
                              num_classes=num_classes, normalisation='mean (0.485, 0.456, '
                              '0.406), std (0.229, 0.224, 0.255)'))
