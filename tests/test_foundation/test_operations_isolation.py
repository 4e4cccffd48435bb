"""The operations tooling (``dense_ssl_mm.operations``) stays out of the library core: importing
the package and every core module loads none of it, and no core file names it."""
import json
import os
import os.path as osp
import subprocess
import sys

from ..conftest import REPO
from .test_layers import imports_of

PACKAGE = osp.join(REPO, 'dense_ssl_mm')

# In a fresh interpreter: import the package, then every module below it outside operations/;
# print the modules loaded and the ones that failed to import.
PROBE = r'''
import importlib, json, os, pkgutil, sys
import dense_ssl_mm
names = []
def walk(folder, prefix):  # pkgutil.walk_packages would import operations to look inside
    for m in pkgutil.iter_modules([folder], prefix):
        if m.name != 'dense_ssl_mm.operations':
            names.append(m.name)
            if m.ispkg:
                walk(os.path.join(folder, m.name.rsplit('.', 1)[-1]), m.name + '.')
walk(dense_ssl_mm.__path__[0], 'dense_ssl_mm.')
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as err:
        failed[name] = f'{type(err).__name__}: {err}'
print(json.dumps(dict(imported=names, failed=failed, loaded=sorted(sys.modules))))
'''


def core_files():
    for folder, _, files in os.walk(PACKAGE):
        rel = osp.relpath(folder, PACKAGE).split(os.sep)[0]
        if rel != 'operations':
            yield from (osp.join(folder, f) for f in files if f.endswith('.py'))


def test_importing_the_core_loads_no_operations_module():
    proc = subprocess.run([sys.executable, '-c', PROBE], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result['failed'], result['failed']
    # the walk reached the core's layers (a probe that imported nothing would prove nothing)
    layers = {n.split('.')[1] for n in result['imported']}
    assert {'apis', 'datasets', 'engine', 'evaluation', 'models', 'structures', 'utils',
            'visualization'} <= layers, sorted(layers)
    leaked = [m for m in result['loaded'] if m.startswith('dense_ssl_mm.operations')]
    assert not leaked, leaked


def test_no_core_file_imports_operations():
    offenders = sorted(osp.relpath(path, REPO) for path in core_files()
                       if 'operations' in imports_of(path))
    assert not offenders, offenders
