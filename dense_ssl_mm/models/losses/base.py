"""The one contract of every loss module (:class:`Objective`).

Every registered loss is called the same way and answers the same way::

    terms = loss(query, key, match=None, negatives=None)
    # {'loss_<name>': loss_weight * value}            one term
    # {'loss_<name>_<term>': loss_weight * value, ...}  a loss with named parts

- ``query``: what the online network (the student) gives, with gradient: one view's map
  ``(N, C, H, W)``, pooled vectors ``(N, C)``, or a sequence of views' tensors for a loss that
  sees every view at once (DetCon, VICReg's global criterion);
- ``key``: what the teacher gives (no gradient), in the same form, or None for a loss without
  a teacher (VICReg's global criterion compares the online views with each other);
- ``match``: which parts correspond: a matcher's output for one view pair
  (:class:`CellMask`, :class:`PointPairs`, :class:`TwoWayPairs`), the view pairs, DetCon's
  segment ids, or None when the inputs correspond one to one;
- ``negatives``: a reference set: the queue of negatives (InfoNCE) or NeCo's reference
  patches.

``loss_weight`` and ``name`` belong to the loss, never to the head or the algorithm that calls
it, so a config weights and names every term in one place, and every term reaches the log as
``loss_<name>...`` (mmengine sums every key that contains ``loss`` into the total). A new loss
subclasses :class:`Objective`, sets :attr:`Objective.name` and implements
:meth:`Objective.compute`; it does not override ``forward``.
"""
import re
from typing import Any, Dict, Optional, Union

import torch.nn as nn
from torch import Tensor

from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_number

_NAME = re.compile(r'[a-z][a-z0-9_]*')


class Objective(nn.Module):
    """Base of every loss module: named, weighted terms from one call signature.

    Args:
        loss_weight: Multiplier of every term of the loss (>= 0).
        name: Names the terms ``loss_<name>``; defaults to the class's :attr:`name`
            (lower case letters, digits and ``_``).
    """

    #: Default name of the loss's terms (a subclass sets it).
    name: str = ''

    def __init__(self, loss_weight: float = 1.0, name: Optional[str] = None) -> None:
        super().__init__()
        owner = type(self).__name__
        self.loss_weight = check_number(owner, 'loss_weight', loss_weight, 0)
        if name is not None:
            self.name = name
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise BadInputError(f'{owner}: name must be lower case letters, digits and _ '
                                f'(it names the logged loss_<name>), got {self.name!r}')

    def compute(self, query: Any, key: Any = None, match: Any = None,
                negatives: Optional[Tensor] = None) -> Union[Tensor, Dict[str, Tensor]]:
        """The unweighted loss: a scalar, or ``{part: scalar}`` for a loss with named parts.

        Arguments as :meth:`forward`.
        """
        raise NotImplementedError

    def forward(self, query: Any, key: Any = None, match: Any = None,
                negatives: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The loss's weighted terms.

        Args:
            query: The online side (a tensor or a sequence of views' tensors).
            key: The teacher's side in the same form, or None.
            match: What corresponds (a matcher's output, view pairs, segment ids), or None.
            negatives: A reference set (a queue of negatives, reference patches), or None.

        Returns:
            ``{'loss_<name>': loss_weight * value}``, or one ``loss_<name>_<part>`` entry per
            part of a loss with named parts.
        """
        value = self.compute(query, key, match, negatives)
        if isinstance(value, dict):
            return {f'loss_{self.name}_{part}': self.loss_weight * v
                    for part, v in value.items()}
        return {f'loss_{self.name}': self.loss_weight * value}

    def extra_repr(self) -> str:
        return f'name={self.name!r}, loss_weight={self.loss_weight}'
