"""Count the operations that make a GPU wait for the host (device-to-host syncs), on any device.

On a GPU, an operation whose *result size or value must be known by the host* blocks the CPU
until every queued kernel has run: ``.item()`` / ``float(t)`` / ``bool(t)``
(``aten._local_scalar_dense``, ``aten.is_nonzero``), ``nonzero`` / ``torch.where(cond)`` /
boolean-mask indexing and assignment / ``masked_select`` / ``unique`` (data-dependent output
size), ``torch.equal``, ``repeat_interleave`` without ``output_size``, ``bincount`` without
``minlength``, and copies to the host (``.cpu()``, ``.tolist()``, ``.numpy()``,
``.to('cpu')``). The same operations run on a CPU without any sync, so a CPU-only test cannot
time them, but it can *see* them: :class:`HostSyncCounter` records each one during a block of
code (a dispatch mode for the aten operations, wrappers for the Python-level copies) with the
innermost stack frame of the package that asked for it.

Run on a CPU it is conservative: it also reports such operations on tensors that would stay on
the host in a GPU run (e.g. a ``.tolist()`` of a data-loader tensor). The one exception is
``.to(device)``, counted only when a tensor off the CPU goes to the CPU: on a CPU the model's
device *is* the CPU, and a host-to-device copy does not make the GPU wait.

Example::

    with HostSyncCounter() as syncs:
        model.train_step(batch, optim_wrapper)
    assert not syncs.from_package('dense_ssl_mm'), syncs.report()
"""
import os.path as osp
import traceback
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

#: aten overloads that always need the host to see a value or a size.
ALWAYS_SYNC = {
    aten._local_scalar_dense.default: 'item',
    aten.is_nonzero.default: 'is_nonzero',
    aten.nonzero.default: 'nonzero',
    aten.masked_select.default: 'masked_select',
    aten.equal.default: 'equal',
    aten._unique2.default: 'unique',
    aten.unique_dim.default: 'unique',
    aten.unique_consecutive.default: 'unique',
}

#: Python-level tensor methods that copy to the host.
HOST_COPIES = ('cpu', 'tolist', 'numpy')

TORCH_DIR = osp.dirname(osp.abspath(torch.__file__))
THIS_FILE = osp.abspath(__file__)


@dataclass
class HostSync:
    """One operation that would make a GPU wait: its name and where it was asked for."""

    op: str
    file: str
    line: int
    function: str

    def where(self) -> str:
        return f'{self.file}:{self.line} ({self.function})'


def _in_package(path: str, package: str) -> bool:
    return package in osp.abspath(path).split(osp.sep)


def _has_bool_index(indices) -> bool:
    return any(t is not None and t.dtype in (torch.bool, torch.uint8) for t in indices)


def _sync_name(func, args, kwargs) -> Optional[str]:
    """The name of the sync ``func(*args, **kwargs)`` causes, or None."""
    if func in ALWAYS_SYNC:
        return ALWAYS_SYNC[func]
    packet = func.overloadpacket
    if packet in (aten.index, aten._unsafe_index) and len(args) > 1 and \
            _has_bool_index(args[1]):
        return 'boolean-mask index'
    if packet in (aten.index_put, aten.index_put_, aten._index_put_impl_) and \
            len(args) > 1 and _has_bool_index(args[1]):
        return 'boolean-mask assignment'
    if packet is aten.repeat_interleave and isinstance(args[0], torch.Tensor) and \
            kwargs.get('output_size') is None and (len(args) < 4 or args[3] is None) and \
            (func is aten.repeat_interleave.Tensor or
             (len(args) > 1 and isinstance(args[1], torch.Tensor))):
        return 'repeat_interleave without output_size'
    if packet is aten.bincount and kwargs.get('minlength', args[2] if len(args) > 2 else 0) == 0:
        return 'bincount without minlength'
    return None


class HostSyncCounter(TorchDispatchMode):
    """Record every host-sync operation run inside the ``with`` block (see module doc).

    Attributes:
        syncs: The recorded :class:`HostSync` s, in order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.syncs: List[HostSync] = []
        self._saved: Dict[str, Callable] = {}

    def _record(self, name: str) -> None:
        """Attribute to the innermost frame of this package if any, else to the innermost
        frame outside torch (the library that asked, e.g. mmengine)."""
        frames = [f for f in traceback.extract_stack()
                  if osp.abspath(f.filename) != THIS_FILE
                  and not osp.abspath(f.filename).startswith(TORCH_DIR)]
        ours = [f for f in frames if _in_package(f.filename, 'dense_ssl_mm')]
        chosen = (ours or frames)[-1]
        self.syncs.append(HostSync(name, chosen.filename, chosen.lineno, chosen.name))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _sync_name(func, args, kwargs)
        if name is not None:
            self._record(name)
        return func(*args, **kwargs)

    def _wrap(self, method: str) -> None:
        original = getattr(torch.Tensor, method)
        self._saved[method] = original
        counter = self

        def wrapper(tensor, *args, **kwargs):
            counter._record(f'.{method}()')
            return original(tensor, *args, **kwargs)

        setattr(torch.Tensor, method, wrapper)

    def _wrap_to(self) -> None:
        original = torch.Tensor.to
        self._saved['to'] = original
        counter = self

        def to(tensor, *args, **kwargs):
            target = kwargs.get('device', args[0] if args else None)
            if isinstance(target, (str, torch.device)) and tensor.device.type != 'cpu' and \
                    torch.device(target).type == 'cpu':
                counter._record(".to('cpu')")
            return original(tensor, *args, **kwargs)

        torch.Tensor.to = to

    def __enter__(self):
        for method in HOST_COPIES:
            self._wrap(method)
        self._wrap_to()
        return super().__enter__()

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            for method, original in self._saved.items():
                setattr(torch.Tensor, method, original)
            self._saved.clear()

    def from_package(self, package: str) -> List[HostSync]:
        """The syncs whose recorded frame lies inside ``package`` (a top-level name)."""
        return [s for s in self.syncs if _in_package(s.file, package)]

    def report(self) -> str:
        """One line per distinct (operation, place), with its count."""
        counts: Dict[str, int] = {}
        for s in self.syncs:
            key = f'{s.op} at {s.where()}'
            counts[key] = counts.get(key, 0) + 1
        return '\n'.join(f'{n} x {k}' for k, n in counts.items()) or 'no host syncs'
