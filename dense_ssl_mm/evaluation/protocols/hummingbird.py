"""Dense nearest-neighbour retrieval ("Hummingbird", Balazevic et al., NeurIPS 2023), as the
open-hummingbird-eval reference computes it.

Protocol (every constant as in the reference; see ``docs/protocols/hummingbird.md``):

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
import dataclasses
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.geometry.crop_boxes import TorchDraws, draw_crop_box
from dense_ssl_mm.image_ops.color import ADJUST, jitter_ranges
from dense_ssl_mm.image_ops.resize import crop_resize_with_mask
from dense_ssl_mm.registry import PROTOCOLS
from dense_ssl_mm.utils.errors import BadInputError
from ..features import BATCH_SIZE, feature_fn
from ..metrics.knn import cell_label_distribution, faiss_backend, transfer_labels
from ..metrics.matching import matched_miou
from ..seg_data import check_mask, reduce_zero
from .base import EvalRun, Protocol

HB_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
HB_STD = (0.229 * 255, 0.224 * 255, 0.255 * 255)
CROP_SCALE = (0.5, 2.0)
CROP_RATIO = (3 / 4, 4 / 3)
JITTER = 0.1
JITTER_PROB = 0.5


def augment_pair(image: Tensor, mask: Tensor, size: int, gen: torch.Generator
                 ) -> Tuple[Tensor, Tensor]:
    """The memory's augmentation of one ``(3, H, W)`` RGB [0, 255] image and its ``(H, W)``
    mask: shared random resized crop (image bilinear with antialiasing, mask nearest) to
    ``size x size``, then the four colour jitters."""
    box, _ = draw_crop_box(image.shape[-2], image.shape[-1], CROP_SCALE, CROP_RATIO,
                           TorchDraws(gen))
    out, label = crop_resize_with_mask(image, mask, box, size)
    label = label.to(mask.dtype)
    bgr = out[None].flip(1)  # the jitter ops' default channel order
    # brightness, contrast, saturation, hue in that order, each with probability JITTER_PROB
    for adjust, (low, high) in zip(ADJUST, jitter_ranges((JITTER, ) * 4)):
        if float(torch.rand(1, generator=gen)) >= JITTER_PROB:
            continue
        bgr = adjust(bgr, torch.empty(1).uniform_(low, high, generator=gen))
    return bgr.flip(1)[0], label


def soft_cell_labels(labels: Tensor, num_classes: int, grid: int) -> Tensor:
    """``(N, H, W)`` label maps (255 counted as class 0) -> ``(N, grid * grid, K)`` mean
    one-hot of each cell's pixels (``H`` and ``W`` multiples of ``grid``)."""
    n, h, w = labels.shape
    if h % grid or w % grid:
        raise BadInputError(f'label maps of {h} x {w} do not split into {grid} x {grid} cells')
    pooled = cell_label_distribution(labels, num_classes, (grid, grid), ignore_as=0)
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


def hungarian_miou(pred: Tensor, labels: Tensor, num_classes: int,
                   match: bool = True) -> Dict[str, object]:
    """The reference's score (``PredsmIoU``): :func:`matched_miou` with Hungarian matching
    (or the identity with ``match=False``)."""
    return matched_miou(pred, labels, num_classes, num_classes,
                        'hungarian' if match else 'identity')


class PairReader:
    """Training ``(image, mask)`` pairs read on access at their own size: ``(3, H, W)`` RGB
    float in [0, 255] and ``(H, W)`` uint8 (``reduce_zero_label``: 0 -> 255, k -> k - 1)."""

    def __init__(self, pairs: Sequence[Tuple[str, str]], reduce_zero_label: bool = False,
                 num_classes: Optional[int] = None):
        self.pairs, self.reduce_zero_label = list(pairs), reduce_zero_label
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        from PIL import Image
        image_path, mask_path = self.pairs[index]
        image = np.asarray(Image.open(image_path).convert('RGB'))
        mask = np.array(Image.open(mask_path))
        if mask.ndim != 2:
            raise BadInputError(f'mask {mask_path!r} is not a single-channel label map')
        mask = mask.astype(np.int64)
        if self.reduce_zero_label:
            mask = reduce_zero(mask)
        check_mask(mask, image.shape, image_path, mask_path, self.num_classes)
        image = torch.from_numpy(image.copy()).permute(2, 0, 1).float()
        return image, torch.from_numpy(mask.astype(np.uint8))


def build_memory(feature_fn, samples: Sequence[Tuple[Tensor, Tensor]], size: int,
                 num_classes: int, passes: int, memory_size: Optional[int],
                 seed: int = 0, batch_size: int = BATCH_SIZE, progress=None
                 ) -> Tuple[Tensor, Tensor]:
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


def predict_from_features(memory: Tensor, memory_labels: Tensor, feats: Tensor, out_size,
                          k: int, temperature: float, backend: str = 'auto',
                          batch_size: int = BATCH_SIZE, device=None) -> Tensor:
    """``(N, D, S, S)`` validation features -> ``(N, H, W)`` classes at ``out_size``: the
    transferred ``S x S`` label maps upsampled bilinearly, argmax (``batch_size`` images
    at a time, on ``device`` (default: the features'): the ``(Q, k, D)`` neighbour keys of
    a batch are held at once)."""
    preds = []
    for start in range(0, len(feats), batch_size):
        f = feats[start:start + batch_size].to(device or feats.device).float()
        b, d, s, _ = f.shape
        scores = transfer_labels(memory, memory_labels, f.flatten(2).transpose(1, 2)
                                 .reshape(-1, d), k, temperature, backend)
        scores = scores.reshape(b, s, s, -1).permute(0, 3, 1, 2)
        up = F.interpolate(scores, size=tuple(out_size), mode='bilinear',
                           align_corners=False)
        preds.append(up.argmax(1).cpu())
    return torch.cat(preds)


def hummingbird_predict(feature_fn, memory: Tensor, memory_labels: Tensor, images: Tensor,
                        k: int, temperature: float, backend: str = 'auto',
                        batch_size: int = BATCH_SIZE) -> Tensor:
    """``(N, 3, size, size)`` validation images in [0, 255] -> ``(N, size, size)`` classes
    (:func:`predict_from_features` of their features, a batch at a time)."""
    preds = [predict_from_features(memory, memory_labels,
                                   feature_fn(images[start:start + batch_size]),
                                   images.shape[-2:], k, temperature, backend, batch_size)
             for start in range(0, len(images), batch_size)]
    return torch.cat(preds)


@PROTOCOLS.register_module(name='hummingbird')
@dataclasses.dataclass
class Hummingbird(Protocol):
    """Dense nearest-neighbour retrieval as open-hummingbird-eval computes it (module
    docstring): Hungarian-matched mIoU over all classes of the validation set.

    Args:
        size: Side of the square images and masks (the reference: 224).
        passes: Augmented passes over the training images that fill the memory.
        memory_size: ``M``, the memory's size (None: every cell of every pass).
        k: Neighbours retrieved per validation cell.
        temperature: ``T`` of the ``softmax(cos / T)`` neighbour weights.
        backend: Nearest-neighbour search: ``'faiss'``, ``'torch'`` or ``'auto'``.
    """

    size: int = 224
    passes: int = 2
    memory_size: Optional[int] = None
    k: int = 30
    temperature: float = 0.02
    backend: str = 'auto'

    needs = ('labels', )

    def run(self, ev: EvalRun) -> Dict[str, object]:
        train_pairs, val_pairs, num_classes, reduce = ev.labelled()
        val_feats = ev.features('val', self.level, self.size, HB_MEAN, HB_STD)
        stride = self.size // val_feats.shape[-1]
        if self.size % val_feats.shape[-1]:
            raise BadInputError(f'hummingbird: size {self.size} is not a multiple of the '
                                f'{self.level} stride {stride}')
        fn = feature_fn(ev.model, self.level, HB_MEAN, HB_STD)
        memory, memory_labels = build_memory(
            fn, PairReader(train_pairs, reduce, num_classes), self.size, num_classes,
            self.passes, self.memory_size, self.seed, ev.batch_size, ev.bar())
        val_labels = ev.pairs('val', self.size)[1]
        pred = predict_from_features(memory, memory_labels, val_feats, val_labels.shape[-2:],
                                     self.k, self.temperature, self.backend, ev.batch_size,
                                     ev.device)
        scores = hungarian_miou(pred, val_labels, num_classes)
        search = 'torch (exact)' if faiss_backend(self.backend) is None else \
            'faiss IndexFlatIP'
        return dict(miou=scores['miou'], per_class_iou=scores['per_class_iou'],
                    identity_mapping=scores['identity_mapping'],
                    settings=self.settings(
                        stride=stride, memory_rows=int(memory.shape[0]), search=search,
                        train_images=len(train_pairs), val_images=len(val_pairs),
                        num_classes=num_classes, normalisation='mean (0.485, 0.456, 0.406), '
                        'std (0.229, 0.224, 0.255)'))
