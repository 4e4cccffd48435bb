"""Health monitors of dense features: is a run collapsing, or learning position, not content?

All take frozen features ``(N, C, h, w)`` of ``N`` images (or views) and return numbers with a
known range, so a verdict can compare them with thresholds (:mod:`.health`).

- :func:`rankme`: effective rank of the cell embeddings (Garrido et al., ICML 2023),
  ``exp(-sum p_k log p_k)`` with ``p_k = s_k / sum(s) + eps`` over the singular values ``s``;
  1 (every cell the same direction) to ``min(cells, C)``.
- :func:`spatial_share`: the share of the feature variance that lies *within* images (across
  cells) rather than between image means: 0 when every cell of an image carries the same
  vector (spatial collapse: a global feature copied to every cell), 1 when every image has
  the same map (a fixed pattern, e.g. position only).
- :func:`position_r2`: how well a ridge read-out, fitted on half of the images and scored on
  the other half, predicts a cell's (row, column) in the map from its feature (R^2, <= 1):
  high when the features encode where a cell is (border or padding artefacts), about 0 or
  below (clipped at -1) when they encode only what is there.
"""
from typing import Dict

import torch
from torch import Tensor

from dense_ssl_mm.utils.errors import BadInputError

EPS = 1e-7


def cells(features: Tensor) -> Tensor:
    """``(N, C, h, w)`` -> ``(N * h * w, C)`` cell vectors."""
    return features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])


def rankme(embeddings: Tensor, eps: float = EPS) -> float:
    """RankMe of ``(M, D)`` embeddings (float64 SVD)."""
    s = torch.linalg.svdvals(embeddings.double())
    if float(s.sum()) == 0.0:
        return 1.0
    p = s / s.sum() + eps
    return float(torch.exp(-(p * p.log()).sum()))


def spatial_share(features: Tensor) -> float:
    """Within-image share of the total cell variance (see module doc), in [0, 1]."""
    x = features.double().flatten(2)  # [N, C, hw]
    total = x.transpose(1, 2).reshape(-1, x.shape[1]).var(0, unbiased=False).sum()
    if float(total) <= 1e-12:
        return 0.0
    within = x.var(2, unbiased=False).sum(1).mean()
    return float((within / total).clamp(0, 1))


def position_r2(features: Tensor, ridge: float = 0.1) -> float:
    """Held-out R^2 of a ridge read-out of the cells' (row, column) from their features,
    clipped at -1 (a read-out worse than predicting the mean position says the same as -1).
    The ridge (``ridge`` x cells on standardised features) keeps a read-out fitted on few
    images from memorising them."""
    n, c, h, w = features.shape
    if n < 2:
        raise BadInputError(f'position_r2 needs at least 2 images, got {n}')
    rows = torch.arange(h, dtype=torch.float64).view(h, 1).expand(h, w)
    cols = torch.arange(w, dtype=torch.float64).view(1, w).expand(h, w)
    target = torch.stack([rows, cols], -1).reshape(1, h * w, 2).expand(n, -1, -1)
    x = features.double().permute(0, 2, 3, 1).reshape(n, h * w, c)
    half = n // 2
    fit_x, fit_y = x[:half].reshape(-1, c), target[:half].reshape(-1, 2)
    test_x, test_y = x[half:].reshape(-1, c), target[half:].reshape(-1, 2)
    mean_x, mean_y = fit_x.mean(0), fit_y.mean(0)
    scale = fit_x.std(0, unbiased=False).clamp(min=1e-8)
    a = (fit_x - mean_x) / scale
    gram = a.t() @ a + ridge * a.shape[0] * torch.eye(c, dtype=torch.float64)
    coef = torch.linalg.solve(gram, a.t() @ (fit_y - mean_y))
    pred = ((test_x - mean_x) / scale) @ coef + mean_y
    residual = ((test_y - pred) ** 2).sum()
    spread = ((test_y - test_y.mean(0)) ** 2).sum()
    return max(-1.0, float(1 - residual / spread)) if float(spread) > 0 else 0.0


def feature_monitors(features: Tensor, max_cells: int = 25600,
                     seed: int = 0) -> Dict[str, float]:
    """Every monitor of ``(N, C, h, w)`` features (RankMe on at most ``max_cells`` cells,
    drawn without replacement with ``seed``, as the ~25,600 of common practice)."""
    flat = cells(features)
    if flat.shape[0] > max_cells:
        gen = torch.Generator().manual_seed(seed)
        flat = flat[torch.randperm(flat.shape[0], generator=gen)[:max_cells]]
    return {'rankme': rankme(flat),
            'rankme_max': float(min(flat.shape[0], flat.shape[1])),
            'spatial_share': spatial_share(features),
            'position_r2': position_r2(features)}
