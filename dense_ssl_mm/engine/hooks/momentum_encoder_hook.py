"""Momentum (EMA) update of the target network after every optimizer step."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from dense_ssl_mm.registry import HOOKS

SCHEDULES = ('cosine', 'constant')


@HOOKS.register_module()
class MomentumEncoderHook(Hook):
    """Update ``target = m * target + (1 - m) * online`` after each optimizer step.

    ``m`` is the *target momentum*, the weight kept on the target network (the papers'
    convention; mmengine's EMA hook calls ``1 - m`` its momentum). Schedules:

    - ``'cosine'`` (PixPro, BYOL): ``m(k) = m_end - (m_end - m0) * (cos(pi * k / K) + 1) / 2``,
      rising from ``m0`` at ``k = 0`` to ``m_end`` at ``k = K``;
    - ``'constant'`` (MoCo, VADeR): ``m(k) = m0``.

    ``k`` is the number of updates already done, read from the model's checkpointed buffer
    ``momentum_steps``, so a resumed run continues the schedule exactly; ``K`` is the number of
    optimizer steps of the whole run (``ceil(max_iters / accumulative_counts)``), so iterations
    that only accumulate gradients do not update the target. The value is logged as
    ``target_momentum``.

    Args:
        base_target_momentum: m0 (0.99 for PixPro).
        end_target_momentum: m_end of the cosine schedule (1.0).
        schedule: ``'cosine'`` or ``'constant'``.
    """

    priority = 'NORMAL'  # after the optimizer step (inside train_step), before LoggerHook

    def __init__(self, base_target_momentum: float = 0.99, end_target_momentum: float = 1.0,
                 schedule: str = 'cosine') -> None:
        for name, value in (('base_target_momentum', base_target_momentum),
                            ('end_target_momentum', end_target_momentum)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must lie in [0, 1], got {value}')
        if schedule not in SCHEDULES:
            raise ValueError(f'schedule must be one of {SCHEDULES}, got {schedule!r}')
        self.base_target_momentum = base_target_momentum
        self.end_target_momentum = end_target_momentum
        self.schedule = schedule
        self.total_steps: Optional[int] = None

    def target_momentum(self, step: int, total_steps: int) -> float:
        """m at update ``step`` (0-based) of ``total_steps``."""
        if self.schedule == 'constant':
            return self.base_target_momentum
        progress = min(step, total_steps) / max(total_steps, 1)
        gap = self.end_target_momentum - self.base_target_momentum
        return self.end_target_momentum - gap * (math.cos(math.pi * progress) + 1) / 2

    @staticmethod
    def _unwrap(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        model = self._unwrap(runner)
        if not hasattr(model, 'momentum_update'):
            raise TypeError(f'MomentumEncoderHook needs a model with momentum_update(); '
                            f'{type(model).__name__} has none')
        accumulate = getattr(runner.optim_wrapper, '_accumulative_counts', 1)
        self.total_steps = math.ceil(runner.max_iters / accumulate)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        should_update = getattr(runner.optim_wrapper, 'should_update', None)
        if should_update is not None and not should_update():
            return
        model = self._unwrap(runner)
        momentum = self.target_momentum(int(model.momentum_steps), self.total_steps)
        model.momentum_update(momentum)
        runner.message_hub.update_scalar('train/target_momentum', momentum)
