from .dense_eval_hook import DenseEvalHook
from .momentum_encoder_hook import MomentumEncoderHook
from .non_finite_guard_hook import NonFiniteError, NonFiniteGuardHook
from .snapshot_teacher_hook import SnapshotTeacherHook

__all__ = [
    'DenseEvalHook', 'MomentumEncoderHook', 'NonFiniteError', 'NonFiniteGuardHook',
    'SnapshotTeacherHook'
]
