"""Momentum (EMA) update of the target network after every optimizer step."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from dense_ssl_mm.registry import HOOKS
from dense_ssl_mm.utils.errors import BadInputError, BadInputTypeError
from dense_ssl_mm.utils.validation import check_choice, check_number

SCHEDULES = ('cosine', 'constant')


@HOOKS.register_module()
class MomentumEncoderHook(Hook):
    """Update ``target = m * target + (1 - m) * online`` after each optimizer step.

    ``m`` is the *target momentum*, the weight kept on the target network (the papers'
    convention; mmengine's EMA hook calls ``1 - m`` its momentum). Schedules:

    - ``'cosine'`` (PixPro, BYOL): ``m(k) = m_end - (m_end - m0) * (cos(pi * k / K) + 1) / 2``,
      rising from ``m0`` at ``k = 0`` to ``m_end`` at ``k = K``;
    - ``'constant'`` (MoCo, VADeR): ``m(k) = m0``.

    The update that follows optimizer step ``t`` (0-based) uses ``m(t + 1)``, the index of the
    official PixPro code (and BYOL's): it updates the target at the start of iteration ``i``,
    before the key forward, with ``m(i)`` and the online weights of step ``i - 1`` (its update
    at iteration 0 copies identical weights), so the weights it averages with ``m(i)`` are ours
    after step ``t = i - 1``. The constant schedules of MoCo v2, DenseCL and VADeR (whose
    references also update before the key forward) do not depend on the index. ``t`` is the
    number of updates already done, read from the model's checkpointed buffer
    ``momentum_steps``, so a resumed run continues the schedule exactly; ``K`` is the number of
    optimizer steps of the whole run (``ceil(max_iters / accumulative_counts)``), so iterations
    that only accumulate gradients do not update the target; the last update uses ``m(K)``.
    The value is logged as ``target_momentum``. The hook keeps a host copy of ``t`` (read once
    before training), so a step costs no device-to-host sync.

    It updates every EMA teacher of the model (``model.ema_teachers()``): the built-in
    ``target_*`` copies of the momentum methods and each :class:`EMATeacher` in
    ``teachers``, all with the same ``m``.

    ``load_from`` versus ``--resume``: a run that starts at iteration 0 (a fresh run, also one
    that initialises its weights with ``load_from``) restarts the schedule at ``k = 0`` and
    the model's other step counters with it (:meth:`MomentumAlgorithm.restart_schedule`); a
    resumed run (iteration > 0) continues from the checkpointed ``k``.

    Args:
        base_target_momentum: m0 (0.99 for PixPro).
        end_target_momentum: m_end of the cosine schedule (1.0).
        schedule: ``'cosine'`` or ``'constant'``.
    """

    priority = 'NORMAL'  # after the optimizer step (inside train_step), before LoggerHook

    def __init__(self, base_target_momentum: float = 0.99, end_target_momentum: float = 1.0,
                 schedule: str = 'cosine') -> None:
        owner = 'MomentumEncoderHook'
        check_number(owner, 'base_target_momentum', base_target_momentum, 0, 1)
        check_number(owner, 'end_target_momentum', end_target_momentum, 0, 1)
        check_choice(owner, 'schedule', schedule, SCHEDULES)
        self.base_target_momentum = base_target_momentum
        self.end_target_momentum = end_target_momentum
        self.schedule = schedule
        self.total_steps: Optional[int] = None
        self._step: Optional[int] = None  # host copy of model.momentum_steps
        self._teachers_now: list = []  # what after_train_iter updates (set before training)

    def target_momentum(self, step: int, total_steps: int) -> float:
        """m(step) of a run of ``total_steps`` optimizer steps (the update after optimizer
        step ``t`` uses ``step = t + 1``)."""
        if self.schedule == 'constant':
            return self.base_target_momentum
        progress = min(step, total_steps) / max(total_steps, 1)
        gap = self.end_target_momentum - self.base_target_momentum
        return self.end_target_momentum - gap * (math.cos(math.pi * progress) + 1) / 2

    @staticmethod
    def _unwrap(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    @classmethod
    def _teachers(cls, runner) -> list:
        model = cls._unwrap(runner)
        teachers = model.ema_teachers() if hasattr(model, 'ema_teachers') else []
        if not teachers:
            raise BadInputTypeError(f'MomentumEncoderHook needs a model with an EMA teacher (a '
                                    f'momentum target or an EMATeacher); '
                                    f'{type(model).__name__} has none: remove the hook from '
                                    'custom_hooks')
        return teachers

    def before_train(self, runner) -> None:
        teachers = self._teachers(runner)
        self._teachers_now = teachers
        accumulate = getattr(runner.optim_wrapper, '_accumulative_counts', 1)
        self.total_steps = math.ceil(runner.max_iters / accumulate)
        steps = [int(t.momentum_steps) for t in teachers]
        self._step = steps[0]
        if runner.iter == 0 and any(steps):
            runner.logger.info(
                f'fresh run: the target-momentum schedule restarts at step 0 (the loaded '
                f'weights were at step {max(steps)}); use --resume to continue a run instead')
            for teacher in teachers:
                teacher.restart_schedule()
            self._step = 0
        elif len(set(steps)) > 1:
            raise BadInputError(f'the EMA teachers were updated different numbers of times '
                                f'({steps}): the checkpoint is inconsistent')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        should_update = getattr(runner.optim_wrapper, 'should_update', None)
        if should_update is not None and not should_update():
            return
        momentum = self.target_momentum(self._step + 1, self.total_steps)
        for teacher in self._teachers_now:
            teacher.momentum_update(momentum)
        self._step += 1
        runner.message_hub.update_scalar('train/target_momentum', momentum)
