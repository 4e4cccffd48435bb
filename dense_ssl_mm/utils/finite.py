"""Which tensors hold NaN or infinity: one place for the NaN guard and the exporter."""
from typing import Iterable, List, Tuple

import torch
from torch import Tensor


def non_finite_names(named: Iterable[Tuple[str, Tensor]]) -> List[str]:
    """Names of the floating-point tensors holding a NaN or an infinity.

    A fused pass first (``torch._foreach_norm``: one multi-tensor kernel on a GPU, no
    temporary mask per tensor): a tensor with a NaN or infinity has a non-finite norm. Only
    tensors whose norm is not finite are then checked element-wise, so a finite tensor
    whose norm overflows is not reported. One device-to-host copy for the common case.
    """
    pairs = [(n, t) for n, t in named if isinstance(t, Tensor) and t.is_floating_point()]
    if not pairs:
        return []
    bad = []
    by_device = {}
    for name, tensor in pairs:
        by_device.setdefault((tensor.device, tensor.dtype), []).append((name, tensor))
    for group in by_device.values():
        norms = torch._foreach_norm([t for _, t in group])
        suspicious = (~torch.isfinite(torch.stack(norms))).nonzero().flatten().tolist()
        bad += [group[k][0] for k in suspicious
                if not bool(torch.isfinite(group[k][1]).all())]
    order = {name: k for k, (name, _) in enumerate(pairs)}
    return sorted(bad, key=order.get)
