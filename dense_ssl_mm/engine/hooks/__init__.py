from .momentum_encoder_hook import MomentumEncoderHook
from .non_finite_guard_hook import NonFiniteError, NonFiniteGuardHook

__all__ = ['MomentumEncoderHook', 'NonFiniteError', 'NonFiniteGuardHook']
