"""Frozen dense features of a pretraining config's model, from any kind of weights, and the
cache that lets one evaluation compute each of them once."""
from typing import Callable, Dict, Hashable, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import Tensor, nn
from tqdm import tqdm

from dense_ssl_mm.models.utils import fit_report
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.checkpoint import read_weights
from dense_ssl_mm.utils.errors import BadInputError
from .views import normalize

LEVELS = ('C2', 'C3', 'C4', 'C5', 'dense')
_STAGE = {'C2': 0, 'C3': 1, 'C4': 2, 'C5': 3}
#: Images per forward pass of an evaluation (every protocol and tool defaults to this).
BATCH_SIZE = 16
#: The feature level evaluated when none is named (every ResNet-like model has it).
DEFAULT_LEVEL = 'C4'


def build_eval_model(cfg: Config, checkpoint: Optional[str] = None, seed: int = 0,
                     required: Optional[Sequence[str]] = ('backbone', ),
                     level: Optional[str] = None) -> nn.Module:
    """The config's model in eval mode.

    ``checkpoint`` may be a pretraining (Runner) checkpoint, an exported backbone or a
    torchvision-format ResNet state dict (``fc.*`` ignored; a supervised baseline), in any
    container :func:`~dense_ssl_mm.utils.checkpoint.read_weights` reads (``.safetensors``,
    a DDP save, ...); None keeps the config's random initialisation (seeded), the baseline a
    pretraining run must beat.
    The modules in ``required`` must be in the checkpoint with fitting shapes, else an error
    names what does not fit; other tensors are loaded where their shapes fit. With ``level``
    given, ``required`` is what that level needs: the backbone, and for ``dense`` the model's
    own ``dense_modules`` (the projector, DenseCL's dense projector, VADeR's decoder).
    """
    init_default_scope(cfg.get('default_scope', 'dense_ssl_mm'))
    model_cfg = cfg.model.copy()
    model_cfg.pop('init_cfg', None)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    if level is not None:
        required = model.dense_modules if level == 'dense' else ('backbone', )
    if checkpoint:
        state, _ = read_weights(checkpoint, map_location='cpu')  # the one reader of files
        if not any(k.startswith('backbone.') for k in state):  # a bare backbone
            state = {f'backbone.{k}': v for k, v in state.items() if not k.startswith('fc.')}
        own_all = model.state_dict()
        for module in required:
            prefix = f'{module}.'
            own = {k: v for k, v in own_all.items() if k.startswith(prefix)}
            report = fit_report(own, {k: v for k, v in state.items() if k.startswith(prefix)})
            if report['missing'] or report['mismatched']:
                raise BadInputError(
                    f'{checkpoint!r} does not fit the {module} of the config: '
                    f"{len(report['missing'])} missing (e.g. {report['missing'][:3]}), "
                    f"{len(report['mismatched'])} of another shape "
                    f"(e.g. {report['mismatched'][:2]})")
        model.load_state_dict({k: v for k, v in state.items()  # tensors (not extra state)
                               if k in own_all and isinstance(v, torch.Tensor) and
                               own_all[k].shape == v.shape}, strict=False)
    return model.eval()


def model_stride(model: nn.Module, level: str) -> int:
    """Stride of ``level`` in input pixels (measured with a 64 x 64 probe)."""
    if level == 'dense':
        return model.dense_stride()  # the model measures (and keeps) its own
    device = next(model.parameters()).device
    with torch.no_grad():
        out = extract_features(model, torch.zeros(1, 3, 64, 64, device=device), level)
    return 64 // out.shape[-1]


@torch.no_grad()
def extract_features(model: nn.Module, images: Tensor, level: str) -> Tensor:
    """``(N, 3, H, W)`` normalised images -> ``(N, C, h, w)`` features of ``level``.

    ``C2``..``C5``: backbone stages; ``dense``: the method's dense output (PixPro/PixContrast:
    the projector; VADeR: the decoder's embeddings; see ``extract_dense`` of the algorithm).
    """
    if level not in LEVELS:
        raise BadInputError(f'level must be one of {LEVELS}, got {level!r}')
    if level == 'dense':
        return model.extract_dense(images)
    backbone = model.backbone
    kept = backbone.out_indices  # the training forward may output C5 only
    backbone.out_indices = (0, 1, 2, 3)  # mmdet/mmseg ResNet test membership per stage
    try:
        return backbone(images)[_STAGE[level]]
    finally:
        backbone.out_indices = kept


def feature_fn(model: nn.Module, level: str, mean: Optional[Sequence[float]] = None,
               std: Optional[Sequence[float]] = None) -> Callable[[Tensor], Tensor]:
    """A function ``(B, 3, H, W)`` RGB images in [0, 255] -> float ``(B, C, h, w)`` features
    of ``level`` on the model's device (no autograd).

    Args:
        model: In eval mode.
        level: One of :data:`LEVELS`.
        mean, std: RGB statistics to normalise with; None: the model's own data preprocessor
            (:func:`~dense_ssl_mm.evaluation.views.normalize`).
    """
    device = next(model.parameters()).device

    @torch.no_grad()
    def features(images: Tensor) -> Tensor:
        x = images.to(device)
        if mean is None:
            x = normalize(x, model)
        else:
            x = (x - x.new_tensor(mean).view(1, 3, 1, 1)) / x.new_tensor(std).view(1, 3, 1, 1)
        return extract_features(model, x, level).float()

    return features


@torch.no_grad()
def features_of(model: nn.Module, images: Tensor, level: str, batch_size: int = BATCH_SIZE,
                progress: bool = False, mean: Optional[Sequence[float]] = None,
                std: Optional[Sequence[float]] = None) -> Tensor:
    """``(N, 3, H, W)`` images in [0, 255] -> frozen ``(N, C, h, w)`` features, in batches
    (normalisation as :func:`feature_fn`)."""
    fn = feature_fn(model, level, mean, std)
    out = []
    for start in tqdm(range(0, len(images), batch_size), desc=f'features ({level})',
                      disable=not progress, leave=False):
        out.append(fn(images[start:start + batch_size]))
    return torch.cat(out)


class FeatureCache:
    """What one evaluation has computed, each entry once: features of a split at a layer and
    input size (and the inputs they came from), shared by every protocol asking for the same
    key, e.g. ``('model', 'C4', 448, 'val', 'model-norm')``.

    ``computed`` lists the keys in the order they were first computed (what a run cost).
    """

    def __init__(self) -> None:
        self._store: Dict[Hashable, object] = {}
        self.computed: List[Hashable] = []

    def get(self, key: Hashable, compute: Callable[[], object]):
        """The entry of ``key``, from ``compute()`` the first time it is asked for."""
        if key not in self._store:
            self._store[key] = compute()
            self.computed.append(key)
        return self._store[key]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._store
