"""Online dense evaluation while pretraining: correspondence PCK curve and PCA pictures."""
import json
import os.path as osp
import time
from typing import List, Optional

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from dense_ssl_mm.evaluation import (evaluate_correspondence, list_images, load_images,
                                     pca_grid, save_png)
from dense_ssl_mm.evaluation.features import LEVELS
from dense_ssl_mm.evaluation.monitors import feature_monitors
from dense_ssl_mm.registry import HOOKS
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_choice, check_number


@HOOKS.register_module()
class DenseEvalHook(Hook):
    """Every ``interval`` iterations (and before the first and after the last) run the
    label-free correspondence protocol
    (:mod:`dense_ssl_mm.evaluation.protocols.correspondence`) on a small fixed image set with
    the online network in eval mode.

    Writes, under ``<work_dir>/dense_eval/``: ``metrics.jsonl`` (one line per evaluation),
    ``pca_iter_<N>.png`` (PCA colours of the views' features), and at the end ``curves.png``
    (training loss and PCK@1 against iterations, for people without TensorBoard). The metrics
    (``corr/pck@1``, ``corr/pck@2``, ``corr/mean_err``) go to the run's log and, as scalars,
    to the visualizer's backends (``vis_data/scalars.json``; TensorBoard when configured);
    the PCA picture as an image. Its share of the training time is logged as
    ``dense_eval/cost``.

    In a distributed run only the main process evaluates.

    Args:
        interval: Iterations between evaluations.
        images: Folder of **held-out** evaluation images (never trained on), or a text file
            listing them (paths relative to the file). None is refused unless
            ``allow_training_images``.
        allow_training_images: With ``images=None``, measure on a fixed, evenly spaced sample
            of the training images (the demo, which has six photos); such numbers say the
            path works, not that the features generalise.
        num_images: Images used.
        pairs_per_image: View pairs drawn from each image (each pair its own seed).
        view_size: Side of the square views (the training crop size is a good choice).
        level: ``'C2'``..``'C5'`` or ``'dense'`` (the method's dense output).
        seed: Seed of the view pairs (the same pairs at every evaluation).
        batch_size: Images per forward pass.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 500, images: Optional[str] = None, num_images: int = 16,
                 view_size: int = 224, level: str = 'C4', seed: int = 0,
                 batch_size: int = 16, allow_training_images: bool = False,
                 pairs_per_image: int = 1) -> None:
        owner = 'DenseEvalHook'
        if images is None and not allow_training_images:
            raise BadInputError(
                'DenseEvalHook needs images=FOLDER of held-out images (never trained on): '
                'PCK on training images does not tell a healthy run from a broken one; '
                'set allow_training_images=True to measure on a training sample anyway')
        self.interval = check_number(owner, 'interval', interval, 1, integer=True)
        self.num_images = check_number(owner, 'num_images', num_images, 1, integer=True)
        self.pairs_per_image = check_number(owner, 'pairs_per_image', pairs_per_image, 1,
                                            integer=True)
        self.view_size = check_number(owner, 'view_size', view_size, 32, integer=True)
        self.level = check_choice(owner, 'level', level, LEVELS)
        self.batch_size = check_number(owner, 'batch_size', batch_size, 1, integer=True)
        self.images_dir, self.seed = images, seed
        self.history: List[dict] = []
        self.eval_seconds = 0.0
        self._start = None

    def _paths(self, runner) -> List[str]:
        if self.images_dir:
            return list_images(self.images_dir, self.num_images)
        dataset = runner.train_dataloader.dataset
        picks = np.linspace(0, len(dataset) - 1, min(self.num_images, len(dataset)))
        return [dataset.get_data_info(int(i))['img_path'] for i in picks.round()]

    def before_train(self, runner) -> None:
        if not is_main_process():  # one process evaluates (eval-mode forward: no collectives)
            return
        self.images = load_images(self._paths(runner),
                                  max_side=2 * self.view_size) * self.pairs_per_image
        self.out_dir = osp.join(runner.work_dir, 'dense_eval')
        self._start = time.perf_counter()
        self._evaluate(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not is_main_process():
            return
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._evaluate(runner, runner.iter + 1)

    def _evaluate(self, runner, step: int) -> None:
        if self.history and self.history[-1]['iter'] == step:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        tick = time.perf_counter()
        model.eval()
        try:
            metrics, first = evaluate_correspondence(model, self.images, self.level,
                                                     self.view_size, self.seed,
                                                     self.batch_size)
        finally:
            model.train(was_training)
        picture = pca_grid(first['views'].flatten(0, 1)[:8], first['feats'].flatten(0, 1)[:8])
        save_png(osp.join(self.out_dir, f'pca_iter_{step}.png'), picture)
        self.eval_seconds += time.perf_counter() - tick
        total = time.perf_counter() - self._start
        cost = self.eval_seconds / max(total, 1e-9)
        record = dict(iter=step, **metrics, cost=cost)
        self.history.append(record)
        runner.visualizer.add_scalars(
            {k: v for k, v in metrics.items() if not k.endswith('num_matches')}, step=step)
        runner.visualizer.add_image('dense_eval/pca', picture, step=step)
        views = first['feats'][0]  # view 1 of the first batch: [B, C, h, w]
        if views.shape[0] >= 2:  # the health monitors of the held-out features
            health = feature_monitors(views.float().cpu())
            monitors = {'health/rankme_share': health['rankme'] / health['rankme_max'],
                        'health/spatial_share': health['spatial_share'],
                        'health/position_r2': health['position_r2']}
            record.update(monitors)
            runner.visualizer.add_scalars(monitors, step=step)
        with open(osp.join(self.out_dir, 'metrics.jsonl'), 'a') as f:
            f.write(json.dumps(record) + '\n')
        # before training starts the share of the run is meaningless (all of it)
        share = f'; cost so far {100 * cost:.1f} % of the run' if step > 0 else ''
        runner.logger.info(
            f"dense eval at iter {step} ({self.level}): pck@1 {metrics['corr/pck@1']:.4f} "
            f"pck@2 {metrics['corr/pck@2']:.4f} mean_err {metrics['corr/mean_err']:.3f} cells "
            f"(chance pck@1 {metrics['corr/pck@1_chance']:.4f}){share}")

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        from .curves import plot_curves
        loss = runner.message_hub.log_scalars.get('train/loss')
        losses = loss.data[0].tolist() if loss is not None else []
        path = plot_curves(osp.join(self.out_dir, 'curves.png'), losses, self.history)
        share = self.eval_seconds / max(time.perf_counter() - self._start, 1e-9)
        runner.logger.info(f'dense eval: curves in {path}; {len(self.history)} evaluations '
                           f'took {100 * share:.1f} % of the run')
