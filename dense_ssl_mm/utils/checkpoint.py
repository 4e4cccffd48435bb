"""Checkpoint I/O that works on torch >= 2.6 and never leaves a half-written file.

Loading: torch >= 2.6 calls ``torch.load(..., weights_only=True)`` by default and mmengine
0.10.7 passes no flag, so a Runner checkpoint (message-hub ``HistoryBuffer`` objects, numpy
arrays and scalars) fails to load. We keep the safe unpickler for every file and allow-list
exactly the types mmengine itself writes into its checkpoints; nothing can execute code on
load. :func:`install_checkpoint_io` makes it mmengine's loader for local paths; the
project's tools and ``PretrainRunner`` call it (importing the package does not). A ``HistoryBuffer``
pickles by default with ``builtins.getattr`` (for its statistics methods), a global that
must never be allowed; we make it pickle as ``HistoryBuffer(log, counts, max_length)``
instead, so checkpoints written with dense_ssl_mm imported need only the types above.

Saving: mmengine writes checkpoints with ``open(path, 'wb')``; a crash mid-write leaves a
truncated file that ``--resume`` would pick. The local file backend is replaced by one that
writes to a temporary file in the same folder, fsyncs it and renames it over the target.
"""
import _codecs
import contextlib
import os
import os.path as osp
import re
import secrets
import socket
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as fileio_io
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor

from .errors import BadInputError, BadInputFileError


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
    # numpy scalars carry their bytes as _codecs.encode(str, 'latin1'): torch >= 2.5 allows
    # it by itself, torch 2.4 needs it listed (a str -> bytes conversion, nothing more).
    allowed.append(_codecs.encode)
    return allowed


_MAGIC = ((b'\xff\xd8\xff', 'a JPEG image'), (b'\x89PNG', 'a PNG image'),
          (b'\x1f\x8b', 'a gzip archive'), (b'{', 'a JSON/text file'), (b'#', 'a text file'))


TRUST_ENV = 'DENSE_SSL_MM_TRUSTED_CHECKPOINTS'


def trusted_files() -> set:
    """Real paths of the files listed in ``$DENSE_SSL_MM_TRUSTED_CHECKPOINTS``
    (``os.pathsep``-separated). Only these are loaded with the full, unsafe unpickler: the
    documented way to read a trusted legacy checkpoint that holds other Python objects."""
    listed = os.environ.get(TRUST_ENV, '')
    return {osp.realpath(osp.expanduser(p)) for p in listed.split(os.pathsep) if p}


class UnreadableCheckpointError(BadInputError, RuntimeError):
    """A checkpoint file that cannot be loaded; the message names the file and why."""


def _safetensors_problem(filename: str, head: bytes, size: int) -> Optional[str]:
    """Why a ``.safetensors`` file (or one that starts like one) cannot be read, or None.

    The format: an 8-byte little-endian header length, a JSON header of that length
    (``{"name": {"dtype", "shape", "data_offsets"}, ...}``), then the tensor bytes.
    """
    if len(head) < 9 or head[8:9] != b'{':
        return f'is not a safetensors file (first bytes {head!r}, expected a header length ' \
            'and a JSON object)'
    length = int.from_bytes(head[:8], 'little')
    if 8 + length > size:
        return (f'is a truncated safetensors file ({size} bytes, its header alone claims '
                f'{8 + length})')
    return None


def checkpoint_problem(filename: str, verify_data: bool = False) -> Optional[str]:
    """Why ``filename`` cannot be a readable torch checkpoint, or None if it looks sound.

    Checks the container, not the contents: empty file, not a torch file (names what it looks
    like), truncated zip archive (the usual result of a killed save), truncated safetensors
    file (``.safetensors``, or a file that starts like one: how the Hugging Face hub ships
    weights). With ``verify_data`` every stored record's CRC is checked too (reads the whole
    file).
    """
    size = osp.getsize(filename)
    if size == 0:
        return 'is empty (0 bytes)'
    with open(filename, 'rb') as f:
        head = f.read(9)
    if not head.startswith((b'PK\x03\x04', b'\x80')) and (
            filename.endswith('.safetensors') or head[8:9] == b'{'):
        return _safetensors_problem(filename, head, size)
    head = head[:8]
    if head.startswith(b'PK\x03\x04'):  # torch's zip format (torch >= 1.6)
        try:
            with zipfile.ZipFile(filename) as archive:
                bad = archive.testzip() if verify_data else None
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            return f'is truncated or corrupt ({size} bytes; {err})'
        return f'is corrupt (bad CRC in record {bad!r})' if bad else None
    if head.startswith(b'\x80'):  # torch's legacy pickle format
        return None
    kind = next((name for magic, name in _MAGIC if head.startswith(magic)), 'an unknown format')
    return (f'is not a PyTorch checkpoint (it looks like {kind}: first bytes {head!r})')


def is_safetensors(filename: str) -> bool:
    """Whether ``filename`` is a safetensors file (by its first bytes, whatever its name)."""
    with open(filename, 'rb') as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b'{' and not head.startswith((b'PK', b'\x80'))


def _load_safetensors(filename: str, map_location=None) -> Dict[str, Tensor]:
    """The tensors of a safetensors file (no code can run: the format holds tensors only)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    device = map_location if isinstance(map_location, (str, torch.device)) else 'cpu'
    try:
        return load_file(filename, device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        text = str(err).strip().splitlines()
        raise UnreadableCheckpointError(
            f'checkpoint {filename!r} is a safetensors file that cannot be read '
            f'({type(err).__name__}: {text[0] if text else "no detail"})') from None


def _allowing(globals_: list):
    """Context in which the weights-only unpickler accepts ``globals_``: torch >= 2.5's
    ``safe_globals``; on torch 2.4 (``add_safe_globals`` only) they are added for the process,
    which is what the context would allow anyway."""
    if hasattr(torch.serialization, 'safe_globals'):
        return torch.serialization.safe_globals(globals_)
    torch.serialization.add_safe_globals(globals_)
    return contextlib.nullcontext()


def load_local_checkpoint(filename: Union[str, Path], map_location=None) -> dict:
    """Load a local checkpoint with the weights-only unpickler and mmengine's own types.

    A safetensors file (``.safetensors``, or any file that starts like one) is read with the
    ``safetensors`` package into a flat ``{name: tensor}`` dict.

    Args:
        filename: Path of the checkpoint.
        map_location: Same as :func:`torch.load`.

    Returns:
        The loaded object (usually a dict).

    Raises:
        FileNotFoundError: no such file.
        UnreadableCheckpointError: the file is empty, truncated, not a checkpoint, or holds a
            Python object that the safe unpickler refuses (the message names file and reason).
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise BadInputFileError(f'checkpoint file {filename!r} does not exist')
    if osp.realpath(filename) in trusted_files():
        return torch.load(filename, map_location=map_location, weights_only=False)
    problem = checkpoint_problem(filename)
    if problem:
        raise UnreadableCheckpointError(f'checkpoint {filename!r} {problem}')
    if is_safetensors(filename):
        return _load_safetensors(filename, map_location)
    with _allowing(trusted_checkpoint_globals()):
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        except Exception as err:  # torch raises UnpicklingError and RuntimeError here
            text = str(err)
            refused = re.search(r'GLOBAL ([\w.]+)', text)
            detail = text.split('WeightsUnpickler error:', 1)[-1].strip().splitlines()
            if refused:
                reason = (f'holds a Python object of type {refused.group(1)}, which the '
                          'weights-only unpickler refuses (unpickling it could run code); '
                          'dense_ssl_mm checkpoints hold only tensors, containers, numpy '
                          "values and mmengine's HistoryBuffer (a file you trust can be listed "
                          f'in ${TRUST_ENV}, see docs/guides/pretrain.md)')
            elif 'WeightsUnpickler error:' in text:
                reason = (f'holds data that the weights-only unpickler refuses '
                          f'({detail[0] if detail else "no detail"}): it is not a checkpoint of '
                          'tensors, or was written by code that pickled other objects')
            else:  # torch's advice to switch the safe loader off is never passed on
                first = text.strip().splitlines()[0] if text.strip() else ''
                if 'weights_only' in first:
                    first = 'refused by the weights-only unpickler'
                reason = f'cannot be read ({type(err).__name__}: {first or "no detail"})'
            raise UnreadableCheckpointError(f'checkpoint {filename!r} {reason}') from None


#: The networks of a DINOv2 training checkpoint: the EMA teacher (what DINOv2 evaluates and
#: releases) and the student.
TRAINING_BRANCHES = ('teacher', 'student')


def read_weights(filename: Union[str, Path], branch: str = 'teacher',
                 map_location='cpu') -> Tuple[Dict[str, Tensor], List[str]]:
    """The tensors of any weights file the project reads, and what was done to reach them.

    The one reader of weight containers (the ViT import, the export and ``StrictPretrained``
    go through it); the layout of the names is left to the caller. Read, in this order:

    - the file: a torch checkpoint or a ``.safetensors`` file (:func:`load_local_checkpoint`);
    - a Runner checkpoint's ``state_dict``, or a ``model`` entry (DINOv2 training
      checkpoints, timm's and others' training files);
    - a DINOv2 ``teacher_checkpoint.pth`` (``{'teacher': {'backbone.*', 'dino_head.*', ...}}``)
      or a training state (``student.backbone.*`` and ``teacher.backbone.*``): the backbone of
      ``branch`` (the teacher by default), its prefix removed, the heads dropped;
    - a file saved from DDP (every name starts with ``module.``): the prefix stripped.

    Args:
        filename: Path of the file.
        branch: The network of a DINOv2 training checkpoint: ``'teacher'`` or ``'student'``.
        map_location: As :func:`torch.load`.

    Returns:
        ``({name: tensor}, notes)``: notes are short phrases ("DDP prefix 'module.' stripped",
        ...) for the caller's one log line; empty when the file was a plain state dict.

    Raises:
        BadInputError: (or its :class:`UnreadableCheckpointError`) a file that cannot be
            read, holds no state dict of tensors, or lacks the requested branch.
    """
    if branch not in TRAINING_BRANCHES:
        raise BadInputError(f'branch must be one of {TRAINING_BRANCHES} (the network of a '
                            f'DINOv2 training checkpoint), got {branch!r}')
    filename = str(filename)
    if '://' not in filename and not osp.isfile(osp.expanduser(filename)):
        raise BadInputError(f'weights file {filename!r} does not exist'
                            + (' (it is a folder)' if osp.isdir(filename) else ''))
    if '://' in filename:  # URLs and mmengine's schemes (open-mmlab://, ...): mmengine reads
        obj = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    else:
        obj = load_local_checkpoint(filename, map_location=map_location)
    notes = []
    if isinstance(obj, dict):
        for key in ('state_dict', 'model'):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if isinstance(obj, dict) and any(isinstance(obj.get(b), dict) for b in TRAINING_BRANCHES):
        if not isinstance(obj.get(branch), dict):
            raise BadInputError(f'{filename!r} is a DINOv2 training checkpoint without a '
                                f'{branch!r} entry (it has {sorted(obj)[:8]})')
        obj = {f'{branch}.{k}': v for k, v in obj[branch].items()}
    if not isinstance(obj, dict) or not obj:
        raise BadInputError(f'{filename!r} holds no state dict (found '
                            f'{type(obj).__name__}{"" if obj else ", empty"})')
    if all(isinstance(k, str) and k.startswith('module.') for k in obj):
        obj = {k[len('module.'):]: v for k, v in obj.items()}
        notes.append("DDP prefix 'module.' stripped")
    prefixes = {b: f'{b}.backbone.' for b in TRAINING_BRANCHES}
    if any(str(k).startswith(tuple(prefixes.values())) for k in obj):
        prefix = prefixes[branch]
        picked = {k[len(prefix):]: v for k, v in obj.items() if k.startswith(prefix)}
        if not picked:
            raise BadInputError(f'{filename!r} is a DINOv2 training checkpoint without '
                                f"'{prefix}*' tensors (branch={branch!r}); its entries start "
                                f'with {sorted({k.split(".")[0] for k in obj})}')
        other = [b for b in TRAINING_BRANCHES if b != branch][0]
        notes.append(f'a DINOv2 training checkpoint: its {branch} backbone '
                     f"(branch='{other}' for the {other})")
        obj = picked
    # a module's extra state (a FrozenTeacher's sources) is metadata, not a weight
    obj = {k: v for k, v in obj.items() if not str(k).endswith('._extra_state')}
    bad = [k for k, v in obj.items() if not isinstance(v, Tensor)]
    if bad:
        raise BadInputError(f'{filename!r} holds no state dict of tensors ({len(bad)} entries '
                            f'are not tensors, e.g. {bad[:3]})')
    return obj, notes


_PARTIAL = re.compile(r'^\.(?P<name>.+)\.(?P<pid>\d+)@(?P<host>.+)\.[0-9a-f]{8}\.partial$')


def _partial_name(filepath: str) -> str:
    """Hidden temporary name beside ``filepath`` that says which process writes it."""
    folder, name = osp.split(osp.abspath(filepath))
    return osp.join(folder, f'.{name}.{os.getpid()}@{socket.gethostname()}.'
                    f'{secrets.token_hex(4)}.partial')


def sweep_stale_partials(folder: str) -> List[str]:
    """Remove temporary files of saves that were killed before they finished.

    A save killed by SIGKILL or SIGTERM (OOM killer, Slurm pre-emption) cannot clean up after
    itself. Its ``.<name>.<pid>@<host>.<random>.partial`` file is removed here when it was
    written on this host by a process that no longer exists; files of live processes and of
    other hosts are left alone. Returns the removed paths.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    host = socket.gethostname()
    for name in names:
        match = _PARTIAL.match(name)
        if not match or match['host'] != host or _process_alive(int(match['pid'])):
            continue
        try:
            os.remove(osp.join(folder, name))
            removed.append(osp.join(folder, name))
        except OSError:
            pass
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def atomic_write_files(blobs: Dict[str, bytes]) -> None:
    """Write several files so that either all of them appear or none does.

    Each blob goes to a temporary file in its target's folder, created with mode 0666 minus
    the umask (as ``open()`` would), and is fsynced; only when every temporary file is
    complete are they renamed over their targets. On any error (disk full, Ctrl-C) the
    temporary files are removed and no target is touched. Stale temporary files of killed
    saves in the same folders are swept first (:func:`sweep_stale_partials`).

    Args:
        blobs: ``{path: bytes}``.
    """
    temps = {}
    try:
        for path, data in blobs.items():
            folder = osp.dirname(osp.abspath(path))
            os.makedirs(folder, exist_ok=True)
            sweep_stale_partials(folder)
            tmp = _partial_name(path)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            temps[path] = tmp
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps.values():
            if osp.exists(tmp):
                os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose writes are atomic (see :func:`atomic_write_files`)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_files({str(filepath): obj})

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
