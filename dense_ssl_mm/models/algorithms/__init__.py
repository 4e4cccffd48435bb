from .base import MomentumAlgorithm
from .pixcontrast import PixContrast
from .pixpro import PixPro
from .vader import VADeR

__all__ = ['MomentumAlgorithm', 'PixContrast', 'PixPro', 'VADeR']
