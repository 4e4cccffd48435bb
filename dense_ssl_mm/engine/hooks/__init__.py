from .momentum_encoder_hook import MomentumEncoderHook

__all__ = ['MomentumEncoderHook']
