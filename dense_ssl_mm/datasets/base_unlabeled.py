"""Base class of the unlabeled image datasets: a list of image paths, no labels."""
import os.path as osp
from typing import Any, List, Optional

from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.utils.errors import BadInputError, BadInputFileError, BadInputStateError

ON_BAD_IMAGE = ('skip', 'raise')


class UnlabeledImageDataset(BaseDataset):
    """An image list for self-supervised pretraining.

    Subclasses implement :meth:`list_images`, returning paths relative to
    ``data_prefix['img_path']`` (or absolute).

    An image that cannot be read or decoded is handled as ``on_bad_image`` says:
    ``'raise'`` stops the run with the file's path; ``'skip'`` serves another image and, the
    first time a file fails, logs a warning with its path and the count of distinct bad files
    so far (``num_skipped``, per process: each dataloader worker counts its own).

    Args:
        on_bad_image: ``'skip'`` or ``'raise'``.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset` (``data_root``,
            ``data_prefix=dict(img_path=...)``, ``ann_file``, ``pipeline``, ...).
    """

    def __init__(self, on_bad_image: str = 'raise', **kwargs) -> None:
        if on_bad_image not in ON_BAD_IMAGE:
            raise BadInputError(f'on_bad_image must be one of {ON_BAD_IMAGE}, got {on_bad_image!r}')
        self.on_bad_image = on_bad_image
        self.bad_images = set()
        kwargs.setdefault('data_prefix', dict(img_path=''))
        # Transforms are built through our registry so no default scope is needed.
        kwargs['pipeline'] = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                              for t in kwargs.get('pipeline', [])]
        super().__init__(**kwargs)

    @property
    def num_skipped(self) -> int:
        return len(self.bad_images)

    @property
    def img_root(self) -> str:
        return self.data_prefix.get('img_path', '') or self.data_root or ''

    def list_images(self) -> List[str]:
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        paths = self.list_images()
        if not paths:
            raise BadInputFileError(
                f'{type(self).__name__} found no images (data_root={self.data_root!r}, '
                f'ann_file={self.ann_file!r}, data_prefix={self.data_prefix!r})')
        return [dict(img_path=osp.join(self.img_root, p), sample_idx=i)
                for i, p in enumerate(paths)]

    def prepare_data(self, idx: int) -> Optional[Any]:
        """Run the pipeline. If its first (loading) transform fails, skip the image (return
        None, so BaseDataset serves another) or raise with its path; errors of later
        transforms propagate unchanged."""
        info = self.get_data_info(idx)
        transforms = self.pipeline.transforms
        if not transforms:
            return info
        try:
            results = transforms[0](info)
            if results is None:
                raise ValueError('the loading transform returned None')
        except Exception as err:
            path = info.get('img_path')
            if self.on_bad_image == 'raise':
                raise BadInputStateError(
                    f'cannot load image {path!r} ({type(err).__name__}: {err}); set '
                    "on_bad_image='skip' in the dataset config to skip such files") from err
            if path not in self.bad_images:
                self.bad_images.add(path)
                MMLogger.get_current_instance().warning(
                    f'skipped unreadable image {path!r} ({type(err).__name__}: {err}); '
                    f'{self.num_skipped} skipped so far in this process')
            return None
        for transform in transforms[1:]:
            results = transform(results)
            if results is None:
                return None
        return results
