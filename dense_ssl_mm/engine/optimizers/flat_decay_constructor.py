"""An optimizer constructor whose decay rule for 1-D parameters survives ``custom_keys``."""
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from dense_ssl_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FlatDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's constructor, except that ``paramwise_cfg.flat_decay_mult`` applies to every
    1-D parameter (biases, norms, layer scales), also to those a ``custom_keys`` entry
    matches.

    mmengine skips its generic rules (``bias_decay_mult``, ``norm_decay_mult``,
    ``flat_decay_mult``) for a parameter matched by a custom key, so
    ``custom_keys={'backbone': dict(lr_mult=0.1)}`` alone would decay every bias and norm
    of the backbone. NeCo's recipe gives the backbone its own learning rate and exempts all
    1-D parameters from decay (the official rule: ``name.endswith('.bias') or
    param.ndim == 1``); this constructor does both. A custom key's ``decay_mult`` still
    multiplies.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        wrapper = super().__call__(model)
        flat = self.paramwise_cfg.get('flat_decay_mult')
        if flat is None or self.base_wd is None:
            return wrapper
        keys = self.paramwise_cfg.get('custom_keys', {})
        names = {id(p): n for n, p in model.named_parameters()}
        changed = 0
        for group in wrapper.optimizer.param_groups:
            params = group['params']
            if len(params) == 1 and (params[0].ndim == 1 or
                                     names.get(id(params[0]), '').endswith('.bias')):
                decay = self.base_wd * flat * _decay_mult(names.get(id(params[0]), ''), keys)
                changed += group['weight_decay'] != decay
                group['weight_decay'] = decay
        print_log(f'FlatDecayOptimWrapperConstructor: weight decay x {flat} on every 1-D '
                  f'parameter ({changed} that the lines above list with another value '
                  'corrected)', logger='current')
        return wrapper


def _decay_mult(name: str, custom_keys: dict) -> float:
    """The ``decay_mult`` of the custom key mmengine matches for ``name`` (the longest key
    that is a substring), 1 without one."""
    for key in sorted(sorted(custom_keys), key=len, reverse=True):
        if key in name:
            return custom_keys[key].get('decay_mult', 1.0)
    return 1.0
