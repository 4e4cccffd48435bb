from .checkpoint import (AtomicLocalBackend, install_checkpoint_io, load_local_checkpoint,
                         trusted_checkpoint_globals)
from .setup_env import register_all_modules

__all__ = [
    'AtomicLocalBackend', 'install_checkpoint_io', 'load_local_checkpoint',
    'register_all_modules', 'trusted_checkpoint_globals'
]
