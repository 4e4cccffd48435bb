"""Packaging for dense_ssl_mm (OpenMMLab-style: requirements read from requirements/*.txt)."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    with open(osp.join(HERE, 'dense_ssl_mm', 'version.py'), encoding='utf-8') as f:
        match = re.search(r"__version__ = '([^']+)'", f.read())
    if match is None:
        raise RuntimeError('dense_ssl_mm/version.py defines no __version__')
    return match.group(1)


def parse_requirements(fname: str) -> list:
    """Read pinned requirements from ``requirements/<fname>``, following ``-r`` includes."""
    reqs = []
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(line[3:].strip())
            else:
                reqs.append(line)
    return reqs


setup(
    name='dense_ssl_mm',
    version=get_version(),
    description='Dense self-supervised pretraining (PixPro, PixContrast, VADeR) for OpenMMLab',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
    python_requires='>=3.11',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'mim': parse_requirements('mminstall.txt'),
        'tests': parse_requirements('tests.txt'),
        'build': parse_requirements('build.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
