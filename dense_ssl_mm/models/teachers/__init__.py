from .base import Teacher, deterministic_copy, ema_update_, parameters_to_buffers
from .ema import EMATeacher
from .frozen import FrozenTeacher, file_sha256
from .snapshot import SnapshotTeacher

__all__ = [
    'EMATeacher', 'FrozenTeacher', 'SnapshotTeacher', 'Teacher', 'deterministic_copy',
    'ema_update_', 'file_sha256', 'parameters_to_buffers'
]
