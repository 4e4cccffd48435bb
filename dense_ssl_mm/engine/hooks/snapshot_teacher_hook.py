"""Takes and refreshes the model's snapshot teachers at the iterations they ask for."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from dense_ssl_mm.models.teachers import SnapshotTeacher
from dense_ssl_mm.registry import HOOKS
from dense_ssl_mm.utils.errors import BadInputTypeError


@HOOKS.register_module()
class SnapshotTeacherHook(Hook):
    """At the start of every iteration ``i`` for which a :class:`SnapshotTeacher` is due
    (``at``, then every ``every`` iterations), copy its source modules into it.

    The copy at the start of iteration ``i`` holds the weights after optimizer step
    ``i - 1`` (iteration 0: the model the run starts from, after ``load_from``). Which
    iterations are due is a function of ``i`` only and the snapshot's tensors are in the
    checkpoint, so a resumed run takes the same snapshots as an uninterrupted one. The
    refresh runs on every rank with the same (DDP-synchronised) weights; it costs one
    device copy of the modules and no host sync.
    """

    priority = 'ABOVE_NORMAL'  # before the iteration's forward

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _snapshots(self, runner):
        teachers = getattr(self._model(runner), 'teachers', {})
        return [(name, t) for name, t in teachers.items() if isinstance(t, SnapshotTeacher)]

    def before_train(self, runner) -> None:
        if not self._snapshots(runner):
            raise BadInputTypeError(f'SnapshotTeacherHook needs a model with a SnapshotTeacher; '
                                    f'{type(self._model(runner)).__name__} has none: remove the '
                                    'hook from custom_hooks')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = self._model(runner)
        for name, teacher in self._snapshots(runner):
            if teacher.due(runner.iter):
                teacher.refresh(model, runner.iter)
                runner.logger.debug(f'teacher {name!r}: snapshot at iteration {runner.iter}')
