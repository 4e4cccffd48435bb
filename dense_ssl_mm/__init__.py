"""dense_ssl_mm: dense self-supervised pretraining (PixPro, PixContrast, VADeR) on OpenMMLab."""
from .utils.checkpoint import install_checkpoint_io
from .version import __version__

install_checkpoint_io()

from . import datasets, engine, models  # noqa: E402,F401  (fill the registries)

__all__ = ['__version__']
