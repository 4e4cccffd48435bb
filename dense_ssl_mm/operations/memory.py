"""Memory of a training step estimated without running it: fake tensors, live-storage count.

The model is built for real (its parameters, buffers and queues are counted by size); two
training steps then run under ``FakeTensorMode``, where every operation only computes the
shape of its result. A dispatch mode inside it records each new result storage and drops it
when the storage is freed, so the running total is the memory a device would hold for the
step's own tensors: activations saved for backward, gradients, optimizer state and
temporaries. The peak of the second step (optimizer state present) plus the persistent tensors
is the estimate. Not included: the CUDA context (about 0.5 GiB), the caching allocator's
rounding and fragmentation (typically 5-20 %), cuDNN/cuBLAS workspaces and the data loader.
"""
import contextlib
from typing import Dict, Optional

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from dense_ssl_mm.utils.config_walk import find_by_type

GiB = 2**30


class LiveStorages(TorchDispatchMode):
    """Running total and peak of the bytes of storages created by operations in the block."""

    def __init__(self) -> None:
        super().__init__()
        self.live: Dict[int, tuple] = {}  # storage key -> (weak ref, bytes)
        self.current = 0
        self.peak = 0

    def reset_peak(self) -> None:
        self._collect()
        self.peak = self.current

    def _collect(self) -> None:
        dead = [k for k, (ref, _) in self.live.items() if ref.expired()]
        for key in dead:
            self.current -= self.live.pop(key)[1]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = storage._cdata
                if key not in self.live:
                    self.live[key] = (StorageWeakRef(storage), storage.nbytes())
                    self.current += storage.nbytes()
        self._collect()
        self.peak = max(self.peak, self.current)
        return out


def persistent_bytes(model: torch.nn.Module) -> int:
    """Bytes of the model's parameters and buffers (targets and queues included)."""
    tensors = {t.data_ptr(): t for t in list(model.parameters()) + list(model.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values())


def estimate_step_memory(model, optim_wrapper, batch: dict,
                         autocast_dtype: Optional[torch.dtype] = None) -> Dict[str, float]:
    """Estimated memory of training steps of ``model`` (built, on the CPU) on ``batch``.

    Runs two ``model.train_step`` under fake tensors (no arithmetic; the model and the
    optimizer wrapper must not be used for training afterwards: their state holds fake
    tensors).

    Args:
        model: A built algorithm in train mode.
        optim_wrapper: Its optimizer wrapper.
        batch: One collated batch as the dataloader gives it.
        autocast_dtype: Estimate under CPU autocast to this dtype (e.g. ``torch.bfloat16``,
            standing in for the GPU's ``speed.bf16``).

    Returns:
        GiB: ``model`` (parameters and buffers), ``first_step`` (peak above the model during
        the first step: gradients, new optimizer state, activations), ``step`` (peak above the
        model during a later step), ``total`` (``model + step``).
    """
    context = (torch.autocast('cpu', dtype=autocast_dtype) if autocast_dtype is not None
               else contextlib.nullcontext())
    with FakeTensorMode(allow_non_fake_inputs=True), LiveStorages() as live, context:
        model.train_step(batch, optim_wrapper)
        first = live.peak
        live.reset_peak()
        model.train_step(batch, optim_wrapper)
        later = live.peak
    fixed = persistent_bytes(model)
    return dict(model=fixed / GiB, first_step=first / GiB, step=later / GiB,
                total=(fixed + later) / GiB)


def config_view_size(cfg, default: int = 224) -> int:
    """The output size of the first ``RandomResizedCropWithBox`` in the config's training
    pipeline (the views' size), or ``default``."""
    crops = find_by_type(cfg.get('train_dataloader', {}).get('dataset', {}),
                         'RandomResizedCropWithBox')
    if not crops:
        return default
    size = crops[0][1].get('size')
    return int(size if isinstance(size, int) else size[0])
