"""MoCo's shuffling BN: the key encoder sees the global batch in a random order across GPUs."""
from typing import Optional, Tuple

import torch
from mmengine.dist import all_gather, broadcast, get_rank, get_world_size
from torch import Tensor


def batch_shuffle(images: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
    """Give this rank a random slice of the images of all ranks (He et al., CVPR 2020,
    sec. 3.3: otherwise BN statistics of the key batch leak which key is the positive).

    Every rank must pass the same batch size. Without a process group (one process, CPU or
    one GPU) this returns the images unchanged and ``None``.

    Returns:
        The ``(N, ...)`` images this rank encodes, and the permutation to undo it.
    """
    if get_world_size() == 1:
        return images, None
    everything = torch.cat(all_gather(images.contiguous()))  # [world * N, ...]
    order = torch.randperm(everything.shape[0], device=images.device)
    broadcast(order, src=0)  # one permutation for every rank
    n, rank = images.shape[0], get_rank()
    return everything[order[rank * n:(rank + 1) * n]], order.argsort()


def batch_unshuffle(encoded: Tensor, undo: Optional[Tensor]) -> Tensor:
    """Return each rank its own images' encodings, in its own order (inverse of
    :func:`batch_shuffle`; identity when ``undo`` is None)."""
    if undo is None:
        return encoded
    everything = torch.cat(all_gather(encoded.contiguous()))
    n, rank = encoded.shape[0], get_rank()
    return everything[undo[rank * n:(rank + 1) * n]]
