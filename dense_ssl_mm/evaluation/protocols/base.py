"""What every evaluation protocol shares: the base class of its options and the run that
hands it inputs and features.

A protocol is a dataclass registered in :data:`~dense_ssl_mm.registry.PROTOCOLS`: its fields
are its options (typed, each default written once, documented under ``Args``) and
:meth:`Protocol.run` reads what it needs from an :class:`EvalRun`. The run extracts the
features of a split at a layer and input size once (:class:`~..features.FeatureCache`) and
hands the same tensor to every protocol asking for them, so protocols that share a layer and
size cost one forward pass over the images. Adding a protocol is one file in this folder.
"""
import dataclasses
import os.path as osp
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

from torch import Tensor, nn

from dense_ssl_mm.utils.errors import BadInputError
from ..features import BATCH_SIZE, DEFAULT_LEVEL, LEVELS, FeatureCache, features_of
from ..images import list_images, load_images
from ..seg_data import Pairs, folder_pairs, infer_num_classes, load_pairs, mmseg_pairs


@dataclasses.dataclass
class Protocol:
    """Base of the protocols' options.

    Args:
        level: Feature level, one of :data:`~..features.LEVELS`.
        seed: Seed of the protocol's random draws.
    """

    level: str = DEFAULT_LEVEL
    seed: int = 0

    #: What the run must provide: ``'images'`` (unlabelled), ``'labels'`` (a labelled set),
    #: ``'baseline'`` (the random-init model).
    needs: ClassVar[Tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise BadInputError(f'{type(self).__name__}: level must be one of {LEVELS}, got '
                                f'{self.level!r}')

    @classmethod
    def options(cls) -> List[str]:
        """The option names (dataclass fields) of the protocol."""
        return [f.name for f in dataclasses.fields(cls)]

    def settings(self, **extra) -> Dict[str, object]:
        """The options as written into ``metrics.json`` beside the numbers, plus ``extra``."""
        out = dataclasses.asdict(self)
        out.update(extra)
        return out

    def run(self, ev: 'EvalRun') -> Dict[str, object]:
        """The protocol's numbers and ``settings`` on the inputs of ``ev``."""
        raise NotImplementedError


class EvalRun:
    """The inputs of one evaluation and what its protocols have computed from them.

    Args:
        model: The evaluated model (eval mode, on its device).
        images: A folder or list file of unlabelled images (correspondence, health).
        seg_root / seg_config: A labelled folder layout or an mmseg dataset config.
        train_list: A file of training names (one per line, extension optional), e.g. a
            Hummingbird training fraction.
        baseline: The same config at random initialisation (health).
        state: The checkpoint's state dict (health's target lag).
        scalars_json: The run's ``scalars.json`` (health's loss drop).
        batch_size: Images per forward pass.
        progress: Show progress bars.
    """

    def __init__(self, model: nn.Module, images: Optional[str] = None,
                 seg_root: Optional[str] = None, seg_config: Optional[str] = None,
                 train_list: Optional[str] = None, baseline: Optional[nn.Module] = None,
                 state: Optional[dict] = None, scalars_json: Optional[str] = None,
                 batch_size: int = BATCH_SIZE, progress: bool = False) -> None:
        self.models = dict(model=model, baseline=baseline)
        self.images_source, self.seg_root, self.seg_config = images, seg_root, seg_config
        self.train_list, self.state, self.scalars_json = train_list, state, scalars_json
        self.batch_size, self.progress = batch_size, progress
        self.cache = FeatureCache()
        #: Where the labelled set's class count came from (said in errors about it).
        self.class_source: Optional[str] = None

    @property
    def model(self) -> nn.Module:
        """The evaluated model."""
        return self.models['model']

    @property
    def device(self):
        """The evaluated model's device (cached features live on the CPU)."""
        return next(self.model.parameters()).device

    def check(self, name: str, protocol: Protocol) -> None:
        """Refuse a protocol whose inputs the run lacks (one line naming them)."""
        if 'images' in protocol.needs and not self.images_source:
            raise BadInputError(f'the {name} protocol needs --images (unlabelled images)')
        if 'labels' in protocol.needs and not (self.seg_root or self.seg_config):
            raise BadInputError(f'the {name} protocol needs a labelled set: --seg-root or '
                                '--seg-config')
        if 'baseline' in protocol.needs and self.models['baseline'] is None:
            raise BadInputError(f'the {name} protocol needs held-out --images and a '
                                'random-init baseline')

    def bar(self) -> Optional[Callable]:
        """A progress-bar wrapper of an iterable, or None."""
        if not self.progress:
            return None
        from tqdm import tqdm
        return lambda items: tqdm(items, leave=False)

    # --- unlabelled images -------------------------------------------------------------
    def image_paths(self, num_images: Optional[int]) -> List[str]:
        """The first ``num_images`` unlabelled image paths (None: all)."""
        return self.cache.get(('paths', num_images),
                              lambda: list_images(self.images_source, num_images))

    def images(self, num_images: Optional[int]) -> List[Tensor]:
        """The first ``num_images`` unlabelled images, ``(3, H, W)`` in [0, 255]."""
        return self.cache.get(('images', num_images),
                              lambda: load_images(self.image_paths(num_images)))

    # --- the labelled set --------------------------------------------------------------
    def labelled(self) -> Tuple[Pairs, Pairs, int, bool]:
        """``(train pairs, val pairs, num_classes, reduce_zero_label)``; without a dataset
        config the class count is 1 + the largest label of any mask (full resolution), with a
        warning when most ids below it never occur (:func:`~..seg_data.infer_num_classes`)."""
        return self.cache.get('labelled', self._labelled)

    def _labelled(self) -> Tuple[Pairs, Pairs, int, bool]:
        if self.seg_config:
            train_pairs, num_classes, reduce = mmseg_pairs(self.seg_config, 'train')
            val_pairs, _, _ = mmseg_pairs(self.seg_config, 'val')
        elif self.seg_root:
            train_pairs = folder_pairs(self.seg_root, 'train')
            val_pairs = folder_pairs(self.seg_root, 'val')
            num_classes, reduce = None, False
        else:
            raise BadInputError('this protocol needs a labelled set: --seg-root or --seg-config')
        if self.train_list:
            train_pairs = kept_in_list(train_pairs, self.train_list)
        if num_classes is None:  # every protocol reads its class count here
            num_classes, self.class_source = infer_num_classes(
                [m for _, m in train_pairs + val_pairs], self.seg_root)
        else:
            self.class_source = f'the classes of {self.seg_config!r}'
        return train_pairs, val_pairs, num_classes, reduce

    def pairs(self, split: str, size: int) -> Tuple[Tensor, Tensor]:
        """Images ``(N, 3, size, size)`` and labels ``(N, size, size)`` of ``split``."""
        def read():
            train_pairs, val_pairs, num_classes, reduce = self.labelled()
            return load_pairs(train_pairs if split == 'train' else val_pairs, size, reduce,
                              num_classes)
        return self.cache.get(('pairs', split, size), read)

    def features(self, split: str, level: str, size: int,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None) -> Tensor:
        """Frozen ``(N, C, h, w)`` features of ``split``'s images at ``size`` (normalised by
        the model's preprocessor, or with ``mean`` / ``std``): computed once per run, kept
        on the CPU (a protocol moves what it works on to :attr:`device`)."""
        key = ('features', 'model', level, size, split,
               None if mean is None else (tuple(mean), tuple(std)))
        return self.cache.get(key, lambda: features_of(
            self.model, self.pairs(split, size)[0], level, self.batch_size, self.progress,
            mean, std).cpu())


def kept_in_list(train_pairs: Pairs, train_list: str) -> Pairs:
    """The training pairs whose image names a list file holds (extension optional)."""
    names = {osp.splitext(osp.basename(line.split()[0]))[0]
             for line in open(train_list).read().splitlines() if line.strip()}
    kept = [p for p in train_pairs if osp.splitext(osp.basename(p[0]))[0] in names]
    if len(kept) != len(names):
        raise BadInputError(f'{train_list!r} names {len(names)} training images; '
                            f'{len(kept)} of them are in the labelled set')
    return kept
