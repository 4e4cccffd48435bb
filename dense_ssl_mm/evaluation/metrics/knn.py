"""Nearest-neighbour label transfer from a memory of labelled feature cells.

One implementation for every protocol that transfers labels by retrieval (the segmentation
read-out's kNN, Hummingbird): :func:`cell_label_distribution` turns label maps into the soft
labels of feature cells, :func:`nearest` finds the ``k`` nearest memory rows (exact: faiss's
flat index or a chunked matrix product), and :func:`transfer_labels` returns the
``softmax(cos / T)``-weighted mean of their labels. ``k`` and ``T`` have no defaults here:
each protocol names its own.
"""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.utils.errors import BadInputError
from .miou import IGNORE

BACKENDS = ('auto', 'faiss', 'torch')


def faiss_backend(backend: str):
    """The ``faiss`` module when ``backend`` asks for it (``'faiss'``: required; ``'auto'``:
    when installed), else None (``'torch'``, or ``'auto'`` without faiss)."""
    if backend not in BACKENDS:
        raise BadInputError(f"backend must be 'auto', 'faiss' or 'torch', got {backend!r}")
    if backend == 'torch':
        return None
    try:
        import faiss
    except ImportError:
        if backend == 'faiss':
            raise
        return None
    return faiss


def cell_label_distribution(labels: Tensor, num_classes: int, size,
                            ignore_as: Optional[int] = None) -> Tensor:
    """``(N, H, W)`` label maps -> ``(N, K, h, w)`` share of each class's pixels in each
    feature cell of an ``h x w = size`` grid (adaptive average pooling).

    Args:
        labels: Class ids in ``[0, num_classes)`` or 255 (ignored).
        num_classes: ``K``.
        size: ``(h, w)`` of the feature grid.
        ignore_as: None: ignored pixels count for no class (a cell without labelled pixels
            sums to 0); a class id: they count as that class (Hummingbird: 0, background).
    """
    lab = labels.long()
    valid = lab != IGNORE
    if ignore_as is not None:
        lab, valid = torch.where(valid, lab, torch.full_like(lab, ignore_as)), \
            torch.ones_like(valid)
    if bool(valid.any()) and int(lab[valid].max()) >= num_classes:
        raise ValueError(f'label {int(lab[valid].max())} outside [0, {num_classes})')
    onehot = F.one_hot(lab * valid, num_classes) * valid[..., None]  # [N, H, W, K]
    return F.adaptive_avg_pool2d(onehot.permute(0, 3, 1, 2).float(), size)


def nearest(memory: Tensor, queries: Tensor, k: int, backend: str = 'auto',
            chunk: int = 4096) -> Tuple[Tensor, Tensor]:
    """Exact ``k`` nearest memory rows by inner product: ``(scores, indices)``, each
    ``(Q, k)``, best first.

    Args:
        memory: ``(M, D)`` rows.
        queries: ``(Q, D)`` rows.
        k: Neighbours (at most ``M``).
        backend: ``'faiss'`` (flat inner-product index), ``'torch'`` (chunked matrix product
            on the queries' device) or ``'auto'`` (faiss when installed).
        chunk: Queries per matrix product (``chunk x M`` similarities at a time).
    """
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


def transfer_labels(memory: Tensor, memory_labels: Tensor, queries: Tensor, k: int,
                    temperature: float, backend: str = 'auto') -> Tensor:
    """``(Q, D)`` query features -> ``(Q, C)`` labels: the ``softmax(cos / T)``-weighted
    mean of the ``(M, C)`` labels of the ``k`` nearest rows of the L2-normalised ``(M, D)``
    ``memory`` (retrieved by inner product: the queries need no normalisation)."""
    _, idx = nearest(memory, queries, k, backend)
    keys = memory.to(queries.device)[idx]  # [Q, k, D]
    cos = torch.einsum('qd,qkd->qk', F.normalize(queries, dim=1), F.normalize(keys, dim=2))
    weight = (cos / temperature).softmax(1)
    return torch.einsum('qk,qkc->qc', weight, memory_labels.to(queries.device)[idx])
