"""Stop a run whose loss or weights stop being finite, before anything non-finite is saved."""
import math
from typing import Dict, Iterable, List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor

from dense_ssl_mm.registry import HOOKS
from dense_ssl_mm.utils.finite import non_finite_names
from dense_ssl_mm.utils.validation import check_number


class NonFiniteError(RuntimeError):
    """Training produced a NaN or infinite loss or weight."""


def _state_tensors(state: dict, prefix: str = '') -> Iterable[Tuple[str, Tensor]]:
    """Every tensor of a nested checkpoint dict, with a dotted name."""
    for key, value in state.items():
        name = f'{prefix}{key}'
        if isinstance(value, Tensor):
            yield name, value
        elif isinstance(value, dict):
            yield from _state_tensors(value, name + '.')


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Stop training at the first non-finite loss or weight, naming the iteration and the last
    good checkpoint; never let a checkpoint with NaN/inf tensors be written.

    - **Loss, every iteration, free.** mmengine's ``RuntimeInfoHook`` (priority VERY_HIGH)
      already copies every logged value to the host each iteration (``MessageHub``); this hook
      reads those host floats, so it adds no device-to-host synchronisation.
    - **Weights, every** ``interval`` **iterations and at the last one**: one fused norm
      pass over the model's parameters and buffers (:func:`non_finite_names`, one sync).
    - **Before every save**: every tensor of the checkpoint about to be written (model and
      optimizer state). A non-finite one stops the run, so the save never happens and
      ``max_keep_ckpts`` never rotates the last good checkpoint out.

    It runs before :class:`MomentumEncoderHook` (so a NaN online net never reaches the target)
    and before ``CheckpointHook``. On a stop it raises :class:`NonFiniteError`.

    Args:
        interval: Iterations between weight checks (the logging interval is a good choice).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 50) -> None:
        self.interval = check_number('NonFiniteGuardHook', 'interval', interval, 1, integer=True)

    @staticmethod
    def _last_good(runner) -> str:
        last = runner.message_hub.get_info('last_ckpt')
        return (f'last good checkpoint: {last} (resume from it with a lower learning rate or '
                'with optim_wrapper.clip_grad)' if last else 'no checkpoint was saved yet')

    def _stop(self, runner, what: str, names: List[str]) -> None:
        shown = ', '.join(names[:5]) + (f' and {len(names) - 5} more' if len(names) > 5 else '')
        raise NonFiniteError(f'non-finite {what} at iteration {runner.iter + 1} ({shown}): '
                             f'training stopped; {self._last_good(runner)}')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        bad = []
        for key, value in (outputs or {}).items():
            if 'loss' not in key:
                continue
            buffer = runner.message_hub.log_scalars.get(f'train/{key}')
            # The host copy RuntimeInfoHook made of this iteration's value; a tensor only if
            # that hook is absent (then this read is a sync).
            number = buffer.current() if buffer is not None else float(value)
            if not math.isfinite(number):
                bad.append(f'{key}={number}')
        if bad:
            self._stop(runner, 'loss', bad)
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            names = non_finite_names(list(model.named_parameters()) + list(model.named_buffers()))
            if names:
                self._stop(runner, 'weights', names)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        names = non_finite_names(_state_tensors(
            {k: checkpoint[k] for k in ('state_dict', 'optimizer', 'ema_state_dict')
             if isinstance(checkpoint.get(k), dict)}))
        if names:
            self._stop(runner, 'tensors in the checkpoint about to be saved', names)
