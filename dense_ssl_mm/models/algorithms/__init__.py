from .base import MomentumAlgorithm
from .densecl import DenseCL
from .mocov2 import MoCoV2
from .pixcontrast import PixContrast
from .pixpro import PixPro
from .vader import VADeR

__all__ = ['DenseCL', 'MoCoV2', 'MomentumAlgorithm', 'PixContrast', 'PixPro', 'VADeR']
