from .conv_mlp import ConvMLPNeck
from .dense_fpn import DenseFPNNeck
from .fpn import FPN
from .ppm import PixelPropagationModule
from .simple_fpn import SimpleFeaturePyramid

__all__ = ['ConvMLPNeck', 'DenseFPNNeck', 'FPN', 'PixelPropagationModule',
           'SimpleFeaturePyramid']
