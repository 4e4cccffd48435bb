"""Trained read-outs of frozen features (each exists once, here)."""
from .linear import LinearProbe, probe_step

__all__ = ['LinearProbe', 'probe_step']
