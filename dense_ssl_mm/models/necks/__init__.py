from .conv_mlp import ConvMLPNeck
from .dense_fpn import DenseFPNNeck
from .ppm import PixelPropagationModule

__all__ = ['ConvMLPNeck', 'DenseFPNNeck', 'PixelPropagationModule']
