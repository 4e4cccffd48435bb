from .base import DenseAlgorithm
from .densecl import DenseCL
from .mocov2 import MoCoV2
from .momentum import MomentumAlgorithm, MomentumTarget
from .pixcontrast import PixContrast
from .pixpro import PixPro
from .vader import VADeR
from .vicregl import VICRegL

__all__ = [
    'DenseAlgorithm', 'DenseCL', 'MoCoV2', 'MomentumAlgorithm', 'MomentumTarget', 'PixContrast',
    'PixPro', 'VADeR', 'VICRegL'
]
