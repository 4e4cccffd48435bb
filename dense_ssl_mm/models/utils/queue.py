"""Queues of momentum features: MoCo-style negatives (VADeR), reference patches (NeCo)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from torch import Tensor

from dense_ssl_mm.utils.validation import check_number


class FeatureQueue(nn.Module):
    """A ring buffer of ``size`` unit vectors of ``dim`` channels, held as buffers.

    ``queue`` (``(size, dim)``, initialised with random unit vectors as in MoCo) and ``ptr``
    (the next slot) are registered buffers, so checkpoints hold them and a resumed run
    continues with the same negatives.

    Args:
        size: Number of stored features (65536 by default in VADeR's configs).
        dim: Feature dimension.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        check_number('FeatureQueue', 'size', size, 1, integer=True)
        check_number('FeatureQueue', 'dim', dim, 1, integer=True)
        self.register_buffer('queue', F.normalize(torch.randn(size, dim), dim=1))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.queue.shape[0]

    @torch.no_grad()
    def enqueue(self, keys: Tensor, valid: Optional[Tensor] = None) -> None:
        """Write keys over the oldest entries, wrapping around.

        In a distributed run the keys of all ranks are gathered first (every rank then holds
        the same queue). ``valid`` (bool, one per key) drops keys after the gather, so ranks
        can pass fixed-size tensors.

        Args:
            keys: ``(B, dim)`` features (detached, normalised by the caller).
            valid: ``(B,)`` bool, or None for all.
        """
        if get_world_size() > 1:
            keys = torch.cat(all_gather(keys.contiguous()))
            if valid is not None:
                valid = torch.cat(all_gather(valid.contiguous()))
        if valid is not None:
            self._enqueue_valid(keys.to(self.queue.dtype), valid)
            return
        keys = keys[-self.size:].to(self.queue.dtype)  # a batch longer than the queue
        n = keys.shape[0]
        if n == 0:
            return
        slots = (self.ptr + torch.arange(n, device=keys.device)) % self.size
        self.queue.index_copy_(0, slots, keys)
        self.ptr.copy_((self.ptr + n) % self.size)

    def _enqueue_valid(self, keys: Tensor, valid: Tensor) -> None:
        """``enqueue(keys[valid])`` without a host sync: the number of valid keys stays on
        the device, so the slots are found by a search instead of boolean indexing.

        With ``n`` valid keys of which the last ``kept = min(n, size)`` are written, the slot
        at offset ``d`` from ``ptr`` (``d < kept``) receives valid key number ``n - kept + d``,
        found in ``keys`` as the first index whose running count of valid keys reaches it.
        The whole queue is rewritten once (``size x dim`` values, no sync) rather than
        ``n`` rows after a sync.
        """
        if keys.shape[0] == 0:
            return
        count = valid.reshape(-1).long().cumsum(0)  # [B] valid keys up to and including i
        n = count[-1]
        kept = torch.clamp(n, max=self.size)
        offset = (torch.arange(self.size, device=keys.device) - self.ptr) % self.size
        index = torch.searchsorted(count, n - kept + offset + 1).clamp(max=keys.shape[0] - 1)
        written = (offset < kept)[:, None]
        self.queue.copy_(torch.where(written, keys[index], self.queue))
        self.ptr.copy_((self.ptr + kept) % self.size)


class ReferenceQueue(nn.Module):
    """G first-in-first-out queues of ``size`` embeddings each, filled from empty (NeCo's
    teacher queue of reference patches, one per global crop).

    Buffers (checkpointed, so a resumed run draws from the same queue): ``queue``
    ``(G, size, dim)``, ``ptr`` (the next slot, shared: every push writes the same number of
    keys to each queue) and ``filled`` (entries written so far, at most ``size``).

    Args:
        num_queues: G.
        size: Entries per queue (NeCo: 8192).
        dim: Embedding dimension.
    """

    def __init__(self, num_queues: int, size: int, dim: int) -> None:
        super().__init__()
        for name, value in dict(num_queues=num_queues, size=size, dim=dim).items():
            check_number('ReferenceQueue', name, value, 1, integer=True)
        self.register_buffer('queue', torch.zeros(num_queues, size, dim))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('filled', torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.queue.shape[1]

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """Write ``keys`` ``(G, B, dim)`` over the oldest entries of each queue (gathered
        from all ranks first, so every rank holds the same queues)."""
        if get_world_size() > 1:
            keys = torch.cat(all_gather(keys.contiguous()), dim=1)
        keys = keys[:, -self.size:].to(self.queue.dtype)
        n = keys.shape[1]
        slots = (self.ptr + torch.arange(n, device=keys.device)) % self.size
        self.queue.index_copy_(1, slots, keys)
        self.ptr.copy_((self.ptr + n) % self.size)
        self.filled.copy_(torch.clamp(self.filled + n, max=self.size))

    @torch.no_grad()
    def sample(self, which: Tensor, count: int,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """Draw ``count`` entries of queue ``which[p]`` for every p, uniformly without
        replacement among the filled entries (repeating them in a random order when fewer
        than ``count`` are filled), with no host sync.

        Args:
            which: ``(P,)`` long, the queue of each draw.
            count: Entries per draw.

        Returns:
            ``(P, count, dim)`` entries.
        """
        p = which.shape[0]
        scores = torch.rand(p, self.size, device=self.queue.device, generator=generator)
        unfilled = torch.arange(self.size, device=scores.device) >= self.filled
        order = scores.masked_fill(unfilled, 2.0).argsort(dim=1)  # filled ones first
        cols = torch.arange(count, device=scores.device) % self.filled.clamp(min=1)
        index = order[:, cols]  # [P, count]
        return self.queue[which[:, None], index]
