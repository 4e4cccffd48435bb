"""VICReg terms (Bardes, Ponce, LeCun, ICLR 2022) and their VICRegL use (Bardes et al.,
NeurIPS 2022): invariance, variance and covariance of matched embeddings.

For matched embeddings ``x, y`` of shape ``(N, L, C)`` (N images, L matched locations per
image, C channels; a global embedding is ``L = 1``), with the statistics taken over the
images, separately for every location ``l``:

    inv = lambda * mean((x - y)^2)
    var = mu * (v(x) + v(y)) / 2,   v(x) = mean_{l,c} relu(1 - sqrt(Var_n x[n, l, c] + eps))
    cov = nu * (c(x) + c(y)) / 2,   c(x) = mean_l sum_{c != d} Cov_n(x[:, l])_{cd}^2 / C

with ``Var``/``Cov`` the unbiased (N - 1) estimates. lambda = mu = 25, nu = 1, eps = 1e-4.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number
from ..matchers import Direction, PointPairs, TwoWayPairs, gather_cells
from .base import Objective


def variance_term(x: Tensor, eps: float = 1e-4) -> Tensor:
    """``mean relu(1 - std)`` of ``(N, L, C)`` embeddings, std over N per (l, c)."""
    return F.relu(1.0 - torch.sqrt(x.var(dim=0) + eps)).mean()


def covariance_term(x: Tensor) -> Tensor:
    """Squared off-diagonal covariances over N, summed, divided by C, averaged over L."""
    n, _, c = x.shape
    x = x - x.mean(0, keepdim=True)
    cov = torch.einsum('nlc,nld->lcd', x, x) / (n - 1)  # [L, C, C]
    off = cov.pow(2).sum((1, 2)) - torch.diagonal(cov, dim1=1, dim2=2).pow(2).sum(1)
    return (off / c).mean()


def vicreg_terms(x: Tensor, y: Tensor, inv_weight: float = 25.0, var_weight: float = 25.0,
                 cov_weight: float = 1.0, eps: float = 1e-4) -> Tuple[Tensor, Tensor, Tensor]:
    """Weighted ``(inv, var, cov)`` of matched ``(N, L, C)`` embeddings (module docstring)."""
    if x.shape != y.shape or x.dim() != 3 or x.shape[0] < 2:
        raise ValueError(f'VICReg needs matched (N, L, C) embeddings with N >= 2, got '
                         f'{tuple(x.shape)} and {tuple(y.shape)}')
    inv = inv_weight * F.mse_loss(x, y)
    var = var_weight * (variance_term(x, eps) + variance_term(y, eps)) / 2
    cov = cov_weight * (covariance_term(x) + covariance_term(y)) / 2
    return inv, var, cov


class _VICRegWeights(Objective):
    def __init__(self, inv_weight: float, var_weight: float, cov_weight: float,
                 eps: float, loss_weight: float, name: Optional[str]) -> None:
        super().__init__(loss_weight, name)
        owner = type(self).__name__
        self.inv_weight = check_number(owner, 'inv_weight', inv_weight, 0)
        self.var_weight = check_number(owner, 'var_weight', var_weight, 0)
        self.cov_weight = check_number(owner, 'cov_weight', cov_weight, 0)
        self.eps = check_number(owner, 'eps', eps, 0, low_open=True)


@MODELS.register_module()
class VICRegGlobalLoss(_VICRegWeights):
    """VICRegL's global criterion over V views' pooled embeddings.

    ``inv`` is averaged over the view pairs (VICRegL: each global view against every other
    view); ``var`` and ``cov`` are taken once per view (one ``(N, D)`` embedding each, not per
    pair) and averaged over the views, as the official code does.

    Called as ``loss(embeddings, None, pairs)``: no teacher, the views compared with each
    other; three terms ``loss_<name>_inv``, ``_var``, ``_cov``.

    Args:
        inv_weight, var_weight, cov_weight: lambda, mu, nu (25, 25, 1).
        eps: Of the standard deviation (1e-4).
        loss_weight: Multiplier of the three terms (VICRegL: alpha = 0.75).
        name: Names the terms (``'vicreg'``).
    """

    name = 'vicreg'

    def __init__(self, inv_weight: float = 25.0, var_weight: float = 25.0,
                 cov_weight: float = 1.0, eps: float = 1e-4, loss_weight: float = 1.0,
                 name: Optional[str] = None) -> None:
        super().__init__(inv_weight, var_weight, cov_weight, eps, loss_weight, name)

    def compute(self, query: Sequence[Tensor], key: None = None,
                match: Sequence[Direction] = (), negatives: None = None) -> Dict[str, Tensor]:
        """``query``: V ``(N, D)`` embeddings; ``match``: the ``(a, b)`` view pairs of the
        invariance term. Returns ``inv``, ``var``, ``cov`` (each with its lambda/mu/nu)."""
        embeddings, pairs = query, match
        if not pairs:
            raise ValueError('VICRegGlobalLoss needs the view pairs of its invariance term as '
                             'match, got none')
        inv = sum(F.mse_loss(embeddings[a], embeddings[b]) for a, b in pairs) / len(pairs)
        var = sum(variance_term(e[:, None], self.eps) for e in embeddings) / len(embeddings)
        cov = sum(covariance_term(e[:, None]) for e in embeddings) / len(embeddings)
        return dict(inv=self.inv_weight * inv, var=self.var_weight * var,
                    cov=self.cov_weight * cov)


@MODELS.register_module()
class VICRegLocalLoss(_VICRegWeights):
    """VICRegL's local criterion of one view pair from :class:`TwoWayPairs`:
    ``(terms(a -> b) + terms(b -> a)) / 2`` with ``terms = inv + var + cov`` of the matched
    cells (:func:`vicreg_terms`, statistics per match slot over the images).

    A matcher (:class:`LocationNearest`, :class:`FeatureNearest`) picks the same number of
    cells in every image, in cell order, so slot ``l`` is "the l-th kept cell" in each image.

    Args:
        inv_weight, var_weight, cov_weight: lambda, mu, nu (25, 25, 1).
        eps: Of the standard deviation (1e-4).
        loss_weight: Multiplier of the loss (VICRegL: 1 - alpha = 0.25).
        name: Names the term (``'vicregl_local'``; the configs name the two criteria
            ``local_feature`` and ``local_location``).
    """

    name = 'vicregl_local'

    def __init__(self, inv_weight: float = 25.0, var_weight: float = 25.0,
                 cov_weight: float = 1.0, eps: float = 1e-4, loss_weight: float = 1.0,
                 name: Optional[str] = None) -> None:
        super().__init__(inv_weight, var_weight, cov_weight, eps, loss_weight, name)

    def one_way(self, query: Tensor, key: Tensor, pairs: PointPairs) -> Tensor:
        n, c = query.shape[:2]
        x = gather_cells(query, pairs.query_index).view(n, -1, c)  # [N, P, C]
        y = gather_cells(key, pairs.key_index).view(n, -1, c)
        return sum(vicreg_terms(x, y, self.inv_weight, self.var_weight, self.cov_weight,
                                self.eps))

    def compute(self, query: Tensor, key: Tensor, match: TwoWayPairs,
                negatives: Optional[Tensor] = None) -> Tensor:
        """``query``: view a's ``(N, C, Ha, Wa)`` map; ``key``: view b's ``(N, C, Hb, Wb)``."""
        return (self.one_way(query, key, match.forward) +
                self.one_way(key, query, match.backward)) / 2
