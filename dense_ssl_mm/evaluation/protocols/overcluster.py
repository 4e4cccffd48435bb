"""Overclustering (Leopart, Ziegler & Asano, CVPR 2022; NeCo): k-means of frozen dense
features, matched to the classes.

Protocol (``docs/protocols/overcluster.md``): validation features (the reference: images at
448, last-layer patch tokens); standardised per channel, PCA to 50 dimensions, k-means with
100 iterations and 5 restarts (the lowest inertia kept) for each of 5 seeds; the cluster map
and the ground truth resized (nearest) to 100 x 100, ignored pixels dropped; ``K`` = number
of classes with Hungarian matching on IoU, ``K`` > classes (100 / 300 / 500) with
many-to-one matching by precision; mIoU averaged over the seeds.
"""
import dataclasses
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import PROTOCOLS
from dense_ssl_mm.utils.errors import BadInputError
from ..metrics.knn import faiss_backend
from ..metrics.matching import matched_miou
from .base import EvalRun, Protocol


@PROTOCOLS.register_module(name='overcluster')
@dataclasses.dataclass
class Overcluster(Protocol):
    """k-means of the validation features matched to the classes (module docstring):
    ``miou_k{K}`` for each ``K``.

    Args:
        size: Side of the square validation images (the reference: 448).
        ks: The ``K`` values (None: the number of classes, Hungarian, and 100 / 300 / 500
            where there are that many cells, many-to-one).
        seeds: k-means seeds (the mIoU is their mean).
        pca_dims: PCA dimensions after per-channel standardisation.
        eval_size: Side of the cluster and label maps that are scored.
        iters: Lloyd iterations.
        restarts: k-means++ restarts per seed (the lowest inertia kept).
        backend: ``'faiss'``, ``'torch'`` or ``'auto'``.
    """

    size: int = 448
    ks: Optional[Tuple[int, ...]] = None
    seeds: Tuple[int, ...] = (0, 1, 2, 3, 4)
    pca_dims: int = 50
    eval_size: int = 100
    iters: int = 100
    restarts: int = 5
    backend: str = 'auto'

    needs = ('labels', )

    def run(self, ev: EvalRun) -> Dict[str, object]:
        _, val_pairs, num_classes, _ = ev.labelled()
        feats = ev.features('val', self.level, self.size)
        out = overcluster(feats, ev.pairs('val', self.size)[1], num_classes, self.ks,
                          self.seeds, self.pca_dims, self.eval_size, self.iters,
                          self.restarts, self.backend, ev.class_source)
        out['settings'] = self.settings(**out['settings'], val_images=len(val_pairs),
                                        num_classes=num_classes)
        return out


def pca_reduce(x: Tensor, dims: int = 50) -> Tensor:
    """``(M, C)`` -> ``(M, min(dims, C))``: standardised per channel, projected on the top
    principal directions (float64 SVD of the covariance)."""
    x = x.double()
    x = (x - x.mean(0)) / x.std(0, unbiased=False).clamp(min=1e-8)
    if x.shape[1] <= dims:
        return x.float()
    _, _, vh = torch.linalg.svd(x.t() @ x / x.shape[0])  # rows: principal directions
    return (x @ vh[:dims].t()).float()


def kmeans(x: Tensor, k: int, iters: int = 100, restarts: int = 5, seed: int = 0,
           backend: str = 'auto') -> Tensor:
    """Cluster ids ``(M,)`` of ``(M, D)`` points: Lloyd's k-means, ``restarts`` runs from
    k-means++ seeds, the run of lowest inertia kept. ``backend``: ``'faiss'`` (faiss.Kmeans
    started from the same k-means++ seeds; its own random seeding falls into poor optima),
    ``'torch'`` or ``'auto'`` (faiss when installed)."""
    if k > x.shape[0]:
        raise BadInputError(f'k-means: {k} clusters for {x.shape[0]} points')
    gen = torch.Generator().manual_seed(seed)
    faiss = faiss_backend(backend)
    if faiss is not None:
        data = np.ascontiguousarray(x.float().cpu().numpy())
        best_obj, best_index = float('inf'), None
        for _ in range(restarts):
            init = np.ascontiguousarray(_kmeans_pp(x.float(), k, gen).numpy())
            km = faiss.Kmeans(data.shape[1], k, niter=iters, seed=seed, verbose=False,
                              max_points_per_centroid=10**7)
            km.train(data, init_centroids=init)
            if km.obj[-1] < best_obj:
                best_obj, best_index = float(km.obj[-1]), km.index
        return torch.from_numpy(best_index.search(data, 1)[1][:, 0]).long()
    best, best_inertia = None, float('inf')
    for _ in range(restarts):
        centres = _kmeans_pp(x, k, gen)
        for _ in range(iters):
            assign = torch.cdist(x, centres).argmin(1)
            sums = torch.zeros_like(centres).index_add_(0, assign, x)
            counts = torch.bincount(assign, minlength=k).unsqueeze(1)
            centres = torch.where(counts > 0, sums / counts.clamp(min=1), centres)
        dist = torch.cdist(x, centres)
        assign = dist.argmin(1)
        inertia = float(dist.gather(1, assign[:, None]).pow(2).sum())
        if inertia < best_inertia:
            best, best_inertia = assign, inertia
    return best


def _kmeans_pp(x: Tensor, k: int, gen: torch.Generator) -> Tensor:
    first = int(torch.randint(0, x.shape[0], (1, ), generator=gen))
    centres = [x[first]]
    nearest = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        probs = nearest / nearest.sum() if float(nearest.sum()) > 0 else \
            torch.full_like(nearest, 1.0 / len(nearest))
        idx = int(torch.multinomial(probs, 1, generator=gen))
        centres.append(x[idx])
        nearest = torch.minimum(nearest, ((x - x[idx]) ** 2).sum(1))
    return torch.stack(centres)


def overcluster(features: Tensor, labels: Tensor, num_classes: int,
                ks: Optional[Sequence[int]] = Overcluster.ks,
                seeds: Sequence[int] = Overcluster.seeds,
                pca_dims: int = Overcluster.pca_dims, eval_size: int = Overcluster.eval_size,
                iters: int = Overcluster.iters, restarts: int = Overcluster.restarts,
                backend: str = Overcluster.backend, class_source: Optional[str] = None
                ) -> Dict[str, object]:
    """mIoU of k-means clusters of ``(N, C, h, w)`` features against ``(N, H, W)`` labels
    (options and their defaults: :class:`Overcluster`; ``class_source``: where the class
    count came from, said when a ``K`` is below it).

    Returns:
        ``miou_k{K}`` (mean over seeds) and ``miou_k{K}_seeds`` for each ``K`` in ``ks``
        (default: the number of classes, Hungarian; and 100 / 300 / 500 where there are that
        many cells, many-to-one), with the settings.
    """
    too_few = [k for k in (ks or ()) if k < num_classes]
    if too_few:
        source = f' ({class_source})' if class_source else ''
        raise BadInputError(f'overclustering needs K >= the {num_classes} classes{source}, got '
                            f'{too_few[0]}')
    n, c, h, w = features.shape
    reduced = pca_reduce(features.permute(0, 2, 3, 1).reshape(-1, c), pca_dims)
    target = F.interpolate(labels[:, None].float(), size=(eval_size, eval_size),
                           mode='nearest')[:, 0].long()
    ks = list(ks) if ks is not None else [num_classes] + [k for k in (100, 300, 500)
                                                          if k < reduced.shape[0]]
    out: Dict[str, object] = {}
    for k in ks:
        mode = 'hungarian' if k == num_classes else 'many_to_one'
        scores = []
        for seed in seeds:
            ids = kmeans(reduced, k, iters, restarts, seed, backend).view(n, 1, h, w)
            cluster_map = F.interpolate(ids.float(), size=(eval_size, eval_size),
                                        mode='nearest')[:, 0].long()
            scores.append(matched_miou(cluster_map, target, num_classes, k, mode)['miou'])
        out[f'miou_k{k}'] = float(np.mean(scores))
        out[f'miou_k{k}_seeds'] = scores
        out[f'matching_k{k}'] = mode
    out['settings'] = dict(pca_dims=pca_dims, eval_size=eval_size, iters=iters,
                           restarts=restarts, seeds=list(seeds), cells=int(reduced.shape[0]),
                           feature_grid=[h, w])
    return out
