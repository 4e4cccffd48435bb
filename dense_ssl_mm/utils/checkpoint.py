"""Checkpoint I/O that works on torch >= 2.6 and never leaves a half-written file.

Loading: torch >= 2.6 calls ``torch.load(..., weights_only=True)`` by default and mmengine
0.10.7 passes no flag, so a Runner checkpoint (message-hub ``HistoryBuffer`` objects, numpy
arrays and scalars) fails to load. We keep the safe unpickler for every file and allow-list
exactly the types mmengine itself writes into its checkpoints; nothing can execute code on
load. This is installed once, as mmengine's loader for local paths. A ``HistoryBuffer``
pickles by default with ``builtins.getattr`` (for its statistics methods), a global that
must never be allowed; we make it pickle as ``HistoryBuffer(log, counts, max_length)``
instead, so checkpoints written with dense_ssl_mm imported need only the types above.

Saving: mmengine writes checkpoints with ``open(path, 'wb')``; a crash mid-write leaves a
truncated file that ``--resume`` would pick. The local file backend is replaced by one that
writes to a temporary file in the same folder, fsyncs it and renames it over the target.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Callable, List, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as fileio_io
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


def trusted_checkpoint_globals() -> List[Callable]:
    """Types that mmengine puts in Runner checkpoints, allowed for the safe unpickler."""
    numpy_core = getattr(np, '_core', None) or np.core
    allowed = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        numpy_core.multiarray._reconstruct,
        numpy_core.multiarray.scalar,
    ]
    # numpy >= 1.25 pickles dtypes through their classes (np.dtypes.Float64DType, ...).
    allowed += [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith('DType')]
    return allowed


def load_local_checkpoint(filename: Union[str, Path], map_location=None) -> dict:
    """Load a local checkpoint with the weights-only unpickler and mmengine's own types.

    Args:
        filename: Path of the checkpoint.
        map_location: Same as :func:`torch.load`.

    Returns:
        The loaded object (usually a dict).
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    with torch.serialization.safe_globals(trusted_checkpoint_globals()):
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        except Exception as err:  # torch raises UnpicklingError and RuntimeError here
            raise RuntimeError(
                f'cannot load checkpoint {filename!r} with the weights-only unpickler: '
                f'{err}. dense_ssl_mm allows only tensors, containers, numpy values and '
                "mmengine's HistoryBuffer in checkpoints.") from err


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose writes are atomic (temp file + fsync + rename)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(filepath) + '.', dir=folder)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def _reduce_history_buffer(buffer: HistoryBuffer):
    log, counts = buffer.data
    return HistoryBuffer, (log.tolist(), counts.tolist(), buffer.max_length)


_INSTALLED = False


def install_checkpoint_io() -> None:
    """Make mmengine load local checkpoints safely and write them atomically (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    HistoryBuffer.__reduce__ = _reduce_history_buffer
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    fileio_io.backend_instances.clear()  # drop LocalBackend singletons made before this
    _INSTALLED = True
