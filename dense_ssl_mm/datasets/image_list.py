"""Images named in a text file, one path per line."""
import os.path as osp
from typing import List

from mmengine.fileio import get_text

from dense_ssl_mm.registry import DATASETS
from dense_ssl_mm.utils.errors import BadInputFileError
from .base_unlabeled import UnlabeledImageDataset


@DATASETS.register_module()
class ImageListDataset(UnlabeledImageDataset):
    """Images listed in ``ann_file``: one path per line, relative to ``data_prefix['img_path']``.

    Anything after the first whitespace on a line (an ImageNet-style label) is ignored; blank
    lines and lines starting with ``#`` are skipped.
    """

    def list_images(self) -> List[str]:
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise BadInputFileError(f'ImageListDataset: ann_file {self.ann_file!r} does not exist')
        lines = (line.strip() for line in get_text(self.ann_file).splitlines())
        return [line.split()[0] for line in lines if line and not line.startswith('#')]
