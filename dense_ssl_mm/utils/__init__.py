from .checkpoint import (AtomicLocalBackend, install_checkpoint_io, load_local_checkpoint,
                         trusted_checkpoint_globals)

__all__ = [
    'AtomicLocalBackend', 'install_checkpoint_io', 'load_local_checkpoint',
    'trusted_checkpoint_globals'
]
