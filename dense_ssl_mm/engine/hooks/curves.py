"""A PNG of the training curves, for people without TensorBoard."""
import os
import os.path as osp
from typing import List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def plot_curves(path: str, losses: Sequence[float], evals: List[dict],
                loss_steps: Optional[Sequence[int]] = None) -> str:
    """Loss against iterations (left; ``loss_steps`` default 1, 2, ...) and correspondence
    PCK@1/@2 with chance (right)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig, (ax_loss, ax_pck) = plt.subplots(1, 2, figsize=(10, 3.6))
    if losses:
        steps = loss_steps if loss_steps is not None else range(1, len(losses) + 1)
        ax_loss.plot(steps, losses, lw=1)
    ax_loss.set(xlabel='iteration', ylabel='loss', title='training loss')
    if evals:
        steps = [e['iter'] for e in evals]
        for key, style in (('corr/pck@1', 'o-'), ('corr/pck@2', 's-'),
                           ('corr/pck@1_chance', ':')):
            ax_pck.plot(steps, [e[key] for e in evals], style, label=key.split('/')[1])
        ax_pck.legend()
    ax_pck.set(xlabel='iteration', ylabel='PCK', title='correspondence (fixed view pairs)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
