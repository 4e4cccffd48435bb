"""Layers import downward only (utils < structures, geometry, image_ops < datasets, models <
evaluation < engine < apis < tools), and the library never reaches the tools by path."""
import ast
import os
import os.path as osp

import pytest

from ..conftest import REPO

PACKAGE = osp.join(REPO, 'dense_ssl_mm')
RANK = dict(utils=0, registry=0, version=0, structures=1, geometry=1, image_ops=1, datasets=2,
            models=2, visualization=3, evaluation=3, engine=4, apis=5)


def imports_of(path):
    """Absolute dense_ssl_mm layers a module imports (relative imports resolved)."""
    module = osp.relpath(path, REPO)[:-3].replace(os.sep, '.').split('.')
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module[:-node.level]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            names = [name]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split('.')
            if parts[0] == 'dense_ssl_mm' and len(parts) > 1:
                found.add(parts[1])
    return found


def modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                layer = osp.relpath(path, PACKAGE).split(os.sep)[0].removesuffix('.py')
                if layer in RANK:
                    yield layer, path


@pytest.mark.parametrize('layer', sorted(set(RANK) - {'registry', 'version'}))
def test_a_layer_imports_nothing_above_it(layer):
    upward = sorted(f'{osp.relpath(path, REPO)} imports dense_ssl_mm.{other}'
                    for own, path in modules() if own == layer
                    for other in imports_of(path) if RANK.get(other, 0) > RANK[layer])
    assert not upward, upward


def test_the_library_does_not_run_tools_by_path():
    offenders = [osp.relpath(path, REPO) for _, path in modules()
                 if "'tools'" in open(path).read() or '"tools"' in open(path).read()]
    assert not offenders, offenders
    for name in os.listdir(osp.join(REPO, 'tools')):
        if name.endswith('.py'):
            assert 'sys.path' not in open(osp.join(REPO, 'tools', name)).read(), name
