from .conv_mlp import ConvMLPNeck
from .ppm import PixelPropagationModule

__all__ = ['ConvMLPNeck', 'PixelPropagationModule']
