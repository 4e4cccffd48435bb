from .flat_decay_constructor import FlatDecayOptimWrapperConstructor
from .lars import LARS

__all__ = ['FlatDecayOptimWrapperConstructor', 'LARS']
