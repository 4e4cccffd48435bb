"""mmengine's Runner with the checks that turn silent pretraining failures into clear errors."""
from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from dense_ssl_mm.registry import RUNNERS
from dense_ssl_mm.utils.checkpoint import install_checkpoint_io
from dense_ssl_mm.utils.errors import BadInputError, BadInputStateError
from ..hooks import MomentumEncoderHook, SnapshotTeacherHook
from ..speed import apply_model_switches, apply_speed_config, speed_settings


def check_dataloader_yields(loader: DataLoader, name: str = 'train_dataloader') -> None:
    """Raise if ``loader`` yields no batch per epoch (``drop_last`` with a batch larger than
    the images a process sees), naming the batch size, the dataset length and its root.

    Infinite samplers wrap around, so their batches always fill: they pass.
    """
    if isinstance(loader.sampler, InfiniteSampler) or len(loader) > 0:
        return
    dataset = loader.dataset
    per_process = len(loader.sampler) if hasattr(loader.sampler, '__len__') else len(dataset)
    root = getattr(dataset, 'img_root', None) or getattr(dataset, 'data_root', None)
    raise BadInputError(
        f'{name} yields no batch: batch_size={loader.batch_size} with '
        f'drop_last={loader.drop_last}, but the dataset has {len(dataset)} images '
        f'({per_process} per process, {get_world_size()} processes) under {root!r}. Lower '
        f'{name}.batch_size to at most {per_process}, set {name}.drop_last=False, or add images.')


@RUNNERS.register_module()
class PretrainRunner(Runner):
    """The Runner of the pretraining configs (``runner_type = 'PretrainRunner'``).

    Adds to mmengine's Runner, without changing what it does otherwise:

    - the project's safe checkpoint I/O (weights-only loading, atomic writes) is installed
      when the runner is made (:func:`install_checkpoint_io`);
    - a dataloader that yields no batch is an error naming batch size, images and root
      (mmengine fails later with ``epoch_length must be a positive integer`` or a bare
      ``StopIteration``);
    - the model's teachers are checked against the hooks (:func:`check_teacher_hooks`): a
      teacher whose hook is missing (a derived config that replaced ``custom_hooks``) or a
      teacher hook with no teacher to serve refuses to train, saying what to add or remove;
    - the config's ``speed`` switches (``engine/speed.py``) are applied.
    """

    @classmethod
    def from_cfg(cls, cfg) -> 'PretrainRunner':
        return super().from_cfg(apply_speed_config(cfg))

    def build_model(self, model):
        model = super().build_model(model)
        return apply_model_switches(model, **speed_settings(self.cfg))

    def __init__(self, *args, **kwargs) -> None:
        install_checkpoint_io()
        super().__init__(*args, **kwargs)

    @staticmethod
    def build_dataloader(dataloader, seed: int = 0, diff_rank_seed: bool = False) -> DataLoader:
        loader = Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)
        if isinstance(loader, DataLoader):
            check_dataloader_yields(loader)
        return loader

    def train(self):
        model = self.model.module if is_model_wrapper(self.model) else self.model
        check_teacher_hooks(model, self.hooks)
        return super().train()


#: The hooks that maintain teachers, by type name.
TEACHER_HOOKS = {'MomentumEncoderHook': MomentumEncoderHook,
                 'SnapshotTeacherHook': SnapshotTeacherHook}


def check_teacher_hooks(model, hooks) -> None:
    """Raise unless every teacher of ``model`` has the hook it needs
    (``model.teacher_hooks()``) and every teacher hook in ``hooks`` has a teacher to serve.

    Raises:
        RuntimeError: naming the teachers and the hook to add, or the hook to remove.
    """
    needed = model.teacher_hooks() if hasattr(model, 'teacher_hooks') else {}
    present = {name for name, cls in TEACHER_HOOKS.items()
               if any(isinstance(h, cls) for h in hooks)}
    for hook in sorted(set(needed.values()) - present):
        names = sorted(n for n, h in needed.items() if h == hook)
        raise BadInputStateError(
            f'{type(model).__name__} has teacher(s) {names} that need {hook}, which is not '
            f"registered, so they would never change; add dict(type='{hook}') to "
            'custom_hooks (a derived config that sets custom_hooks replaces the base list)')
    for hook in sorted(present - set(needed.values())):
        raise BadInputStateError(f'{hook} is registered but {type(model).__name__} has no teacher '
                                 f'that needs it; remove it from custom_hooks')
