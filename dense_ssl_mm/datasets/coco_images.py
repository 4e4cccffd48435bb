"""The images of a COCO annotation file (train2017, unlabeled2017), labels unused."""
import json
import os.path as osp
from typing import List

from mmengine.fileio import get_text

from dense_ssl_mm.registry import DATASETS
from dense_ssl_mm.utils.errors import BadInputError, BadInputFileError
from .base_unlabeled import UnlabeledImageDataset


@DATASETS.register_module()
class COCOImageDataset(UnlabeledImageDataset):
    """The ``images`` of a COCO-format ``ann_file`` (``file_name`` of each), sorted by id.

    Only the image list is read; annotations, if any, are not used. Image-info files such as
    ``image_info_unlabeled2017.json`` work as well.
    """

    def list_images(self) -> List[str]:
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise BadInputFileError(f'COCOImageDataset: ann_file {self.ann_file!r} does not exist')
        try:
            images = json.loads(get_text(self.ann_file))['images']
        except (ValueError, KeyError, TypeError) as err:
            raise BadInputError(f'COCOImageDataset: {self.ann_file!r} is not a COCO annotation '
                                f"file with an 'images' list ({type(err).__name__}: "
                                f'{err})') from err
        if not isinstance(images, list):
            raise BadInputError(f"COCOImageDataset: 'images' in {self.ann_file!r} must be a list "
                                f'of image entries, got {type(images).__name__}')
        for k, entry in enumerate(images):
            missing = [key for key in ('id', 'file_name')
                       if not isinstance(entry, dict) or key not in entry]
            if missing:
                raise BadInputError(f"COCOImageDataset: entry {k} of 'images' in "
                                    f'{self.ann_file!r} has no {" or ".join(missing)}: '
                                    f'{str(entry)[:200]}')
        return [im['file_name'] for im in sorted(images, key=lambda im: im['id'])]
