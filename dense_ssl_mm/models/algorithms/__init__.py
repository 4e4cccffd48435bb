from .base import DenseAlgorithm
from .densecl import DenseCL
from .detcon import DetConB, DetConS
from .distill import Distill
from .mocov2 import MoCoV2
from .momentum import MomentumAlgorithm, MomentumTarget
from .neco import NeCo, neco_pairs
from .pixcontrast import PixContrast
from .pixpro import PixPro
from .seeded_sampling import SeededSampling
from .vader import VADeR
from .vicregl import VICRegL

__all__ = [
    'DenseAlgorithm', 'DenseCL', 'DetConB', 'DetConS', 'Distill', 'MoCoV2', 'MomentumAlgorithm',
    'MomentumTarget', 'NeCo', 'PixContrast', 'PixPro', 'SeededSampling', 'VADeR', 'VICRegL',
    'neco_pairs'
]
