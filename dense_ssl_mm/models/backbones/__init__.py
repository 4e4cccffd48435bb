from .resnet import ResNet
from .vit import ViT
from .vit_layouts import dinov2_to_vit, is_dinov2_layout, vit_to_mmseg

__all__ = ['ResNet', 'ViT', 'dinov2_to_vit', 'is_dinov2_layout', 'vit_to_mmseg']
