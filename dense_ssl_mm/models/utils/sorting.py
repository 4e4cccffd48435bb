"""Differentiable sorting networks (Petersen et al., ICML 2021 / ICLR 2022): a bitonic
sorting network whose comparators swap softly, giving sorted values and a soft permutation
matrix (NeCo sorts each patch's similarities to its reference patches with it).

A comparator of values ``a`` (the wire that should receive the minimum) and ``b`` keeps
``alpha = sigma(beta (b - a))`` of ``a`` and ``1 - alpha`` of ``b`` on the min wire and the
complement on the max wire; with the Cauchy relaxation ``sigma(v) = arctan(v) / pi + 1/2``
(monotonic: Petersen et al., 2022). Every layer is a symmetric doubly stochastic matrix, so
their product ``P`` is doubly stochastic, and ``sorted = P x`` exactly. For ``n`` not a power
of two the network of the next power is used with its first wires absent (as ``-inf``): a
comparator with one absent wire passes the other through.
"""
import math
from functools import lru_cache
from typing import List, Tuple

import torch
from torch import Tensor


@lru_cache(maxsize=None)
def bitonic_layers(n: int) -> Tuple[Tuple[Tuple[int, ...], Tuple[bool, ...],
                                          Tuple[bool, ...]], ...]:
    """The layers of a bitonic network on ``n`` wires (ascending): per layer, each wire's
    partner, whether it receives the minimum, and whether its comparator is real (both
    wires present). Built once per ``n`` (host ints)."""
    blocks = max(1, math.ceil(math.log2(n)))
    size, absent = 2 ** blocks, 2 ** blocks - n
    layers: List = []
    for block in range(blocks):
        for layer in range(block + 1):
            m = 2 ** (block - layer)
            partner, gets_min, active = list(range(n)), [True] * n, [False] * n
            for start in range(0, size, 2 * m):
                for offset in range(m):
                    low, high = start + offset, start + offset + m
                    if low < absent or high < absent:  # an absent wire: the other passes
                        continue
                    descending = ((start + offset) // 2 ** (block + 1)) % 2 == 1
                    a, b = low - absent, high - absent
                    partner[a], partner[b] = b, a
                    gets_min[a], gets_min[b] = not descending, descending
                    active[a] = active[b] = True
            layers.append((tuple(partner), tuple(gets_min), tuple(active)))
    return tuple(layers)


def _layer_tensors(n: int, device: torch.device) -> Tuple[Tuple[Tensor, Tensor, Tensor], ...]:
    """The network's index and mask tensors on ``device``, made once per (n, device): a
    training step copies nothing from the host."""
    key = (n, str(device))
    if key not in _TENSORS:
        _TENSORS[key] = tuple(
            (torch.tensor(p, device=device), torch.tensor(m, device=device),
             torch.tensor(a, device=device)) for p, m, a in bitonic_layers(n))
    return _TENSORS[key]


_TENSORS: dict = {}


def soft_sort(x: Tensor, steepness: float = 100.0) -> Tuple[Tensor, Tensor]:
    """Sort the last axis of ``x`` softly, ascending.

    Args:
        x: ``(..., n)`` values.
        steepness: beta of the comparators (NeCo: 100); large values sort exactly.

    Returns:
        ``(sorted, P)``: ``(..., n)`` softly sorted values and the ``(..., n, n)`` doubly
        stochastic matrix with ``sorted = P @ x`` (row i: the weights of the inputs that
        make output i).
    """
    n = x.shape[-1]
    lead = x.shape[:-1]
    values = x.reshape(-1, n)
    perm = torch.eye(n, dtype=x.dtype, device=x.device).expand(values.shape[0], n, n)
    for idx, low, real in _layer_tensors(n, x.device):
        other = values[:, idx]
        in_order = torch.atan(steepness * (other - values)) / math.pi + 0.5  # P(x_p <= x_q)
        keep = torch.where(low, in_order, 1 - in_order)
        keep = torch.where(real, keep, torch.ones_like(keep))
        values = other + keep * (values - other)
        swapped = perm[:, idx]
        # one (B, n, n) tensor per layer kept for the backward pass (the difference)
        perm = swapped + keep[..., None] * (perm - swapped)
    return values.reshape(*lead, n), perm.reshape(*lead, n, n)
