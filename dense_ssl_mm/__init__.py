"""dense_ssl_mm: dense self-supervised pretraining (PixPro, PixContrast, VADeR) on OpenMMLab.

Importing the package registers its modules and changes nothing else. The safe checkpoint
I/O (weights-only loading, atomic writes) is installed explicitly by the project's tools and
by ``PretrainRunner``: call :func:`dense_ssl_mm.utils.install_checkpoint_io` to get it
elsewhere.
"""
from .version import __version__

from . import datasets, engine, models, visualization  # noqa: E402,F401  (registries)

__all__ = ['__version__']
