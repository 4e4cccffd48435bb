"""Find the transforms, modules and hooks of a config by their ``type``.

Example::

    for path, crop in find_by_type(cfg.train_dataloader, 'RandomResizedCropWithBox'):
        crop['size'] = 64          # the found dicts are the config's own: edits stay
    [(path, _)] = find_by_type(cfg, 'DenseEvalHook')
    override = f'{path_str(path)}.interval=1000'   # 'custom_hooks.1.interval=1000'
"""
from typing import Any, List, Sequence, Tuple, Union

from mmengine.config import Config

#: Where a node sits: the keys and list positions from the root, e.g. ``('custom_hooks', 1)``.
Path = Tuple[Union[str, int], ...]
TypeQuery = Union[str, type, Sequence[Union[str, type]]]


def _queries(types: TypeQuery) -> List[Union[str, type]]:
    wanted = [types] if isinstance(types, (str, type)) else list(types)
    if not wanted:
        raise ValueError('find_by_type: no type given (expected a name, a class or a list)')
    for w in wanted:
        if not isinstance(w, (str, type)):
            raise TypeError(f'find_by_type: a type is a name or a class, got {w!r}')
    return wanted


def _name(value: Any, ignore_scope: bool) -> str:
    """A ``type`` value's name (a class or function by its ``__name__``), without the scope
    (``'mmdet.ResNet'`` -> ``'ResNet'``) when ``ignore_scope``."""
    name = value if isinstance(value, str) else getattr(value, '__name__', repr(value))
    return name.rsplit('.', 1)[-1] if ignore_scope else name


def type_matches(value: Any, types: TypeQuery, ignore_scope: bool = False) -> bool:
    """Whether a config ``type`` value (a registry name or a class) is one of ``types``.

    A class asked for matches itself and its name (``ResNet`` matches ``type='ResNet'``); two
    different classes never match, whatever their names. Names compare exactly, scope included,
    unless ``ignore_scope``: then ``'ResNet'``, ``'mmdet.ResNet'`` and ``'mmseg.ResNet'`` all
    match each other.
    """
    for wanted in _queries(types):
        if isinstance(wanted, type) and not isinstance(value, str):
            if value is wanted:
                return True
        elif _name(value, ignore_scope) == _name(wanted, ignore_scope):
            return True
    return False


def find_by_type(cfg: Any, types: TypeQuery,
                 ignore_scope: bool = False) -> List[Tuple[Path, dict]]:
    """Every dict (config node) under ``cfg`` whose ``type`` is one of ``types``.

    The walk visits nested dicts (``ConfigDict`` included; an mmengine ``Config`` as its
    top-level dict), lists and tuples depth first in their order, and goes on into a found
    node (a ``MultiViewTransform`` and the crops of its view pipelines are all found).

    Args:
        cfg: A config, a part of one (``cfg.train_dataloader``, a pipeline list) or any
            nesting of dicts, lists and tuples.
        types: A type name (``'RandomResizedCropWithBox'``), a class, or a list of them.
        ignore_scope: Compare names without their registry scope (see :func:`type_matches`).

    Returns:
        ``(path, node)`` pairs in walk order; ``node`` is the config's own dict, not a copy.

    Raises:
        ValueError: if ``types`` is empty.
        TypeError: if an entry of ``types`` is neither a name nor a class.
    """
    wanted = _queries(types)
    found: List[Tuple[Path, dict]] = []

    def visit(node: Any, path: Path) -> None:
        if isinstance(node, (dict, Config)):
            if 'type' in node and type_matches(node['type'], wanted, ignore_scope):
                found.append((path, node))
            for key in list(node.keys()):
                visit(node[key], path + (key, ))
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                visit(value, path + (i, ))

    visit(cfg, ())
    return found


def path_str(path: Path) -> str:
    """A path as ``--cfg-options`` writes it: ``('custom_hooks', 1)`` -> ``'custom_hooks.1'``."""
    return '.'.join(str(part) for part in path)
