from .conv_mlp import ConvMLPNeck
from .dense_fpn import DenseFPNNeck
from .fpn import FPN
from .ppm import PixelPropagationModule

__all__ = ['ConvMLPNeck', 'DenseFPNNeck', 'FPN', 'PixelPropagationModule']
