from .base import MomentumAlgorithm
from .pixcontrast import PixContrast
from .pixpro import PixPro

__all__ = ['MomentumAlgorithm', 'PixContrast', 'PixPro']
