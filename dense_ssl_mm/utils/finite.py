"""Which tensors hold NaN or infinity: one place for the NaN guard and the exporter."""
from typing import Iterable, List, Tuple

import torch
from torch import Tensor


def non_finite_names(named: Iterable[Tuple[str, Tensor]]) -> List[str]:
    """Names of the floating-point tensors holding a NaN or an infinity.

    One ``isfinite().all()`` per tensor on its own device, stacked, then a single copy to the
    host (one device sync however many tensors there are).
    """
    names, flags = [], []
    for name, tensor in named:
        if isinstance(tensor, Tensor) and tensor.is_floating_point():
            names.append(name)
            flags.append(torch.isfinite(tensor).all())
    if not flags:
        return []
    finite = torch.stack([f.to(flags[0].device) for f in flags]).cpu().tolist()
    return [name for name, ok in zip(names, finite) if not ok]
