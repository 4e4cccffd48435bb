"""mmengine's TensorBoard backend where TensorBoard is installed, nothing where it is not."""
import importlib.util

from mmengine.logging import print_log
from mmengine.visualization import TensorboardVisBackend

from dense_ssl_mm.registry import VISBACKENDS


def tensorboard_available() -> bool:
    return importlib.util.find_spec('tensorboard') is not None


@VISBACKENDS.register_module()
class OptionalTensorboardVisBackend(TensorboardVisBackend):
    """``TensorboardVisBackend`` that configs can always list.

    mmengine's backend fails at the first scalar when the ``tensorboard`` package is
    missing; this one logs once that TensorBoard is off and then does nothing, so one config
    serves machines with and without it (the ``LocalVisBackend`` beside it keeps
    ``scalars.json`` and the images either way).
    """

    def _init_env(self):
        self.enabled = tensorboard_available()
        if self.enabled:
            return super()._init_env()
        print_log('tensorboard is not installed: TensorBoard logging is off (pip install '
                  'tensorboard to turn it on)', logger='current', level=30)

    def _active(self) -> bool:
        if not hasattr(self, 'enabled'):
            self._init_env()
            self._env_initialized = True  # what mmengine's force_init_env would set
        return self.enabled

    def add_config(self, config, **kwargs) -> None:
        if self._active():
            super().add_config(config, **kwargs)

    def add_image(self, name, image, step: int = 0, **kwargs) -> None:
        if self._active():
            super().add_image(name, image, step, **kwargs)

    def add_scalar(self, name, value, step: int = 0, **kwargs) -> None:
        if self._active():
            super().add_scalar(name, value, step, **kwargs)

    def add_scalars(self, scalar_dict, step: int = 0, file_path=None, **kwargs) -> None:
        if self._active():
            super().add_scalars(scalar_dict, step, file_path, **kwargs)

    def close(self) -> None:
        if getattr(self, 'enabled', False):
            super().close()
