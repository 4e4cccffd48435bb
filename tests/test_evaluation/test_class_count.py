"""Without a dataset config the class count comes from the masks: a stray id (200 among
classes 0..2) is named in one warning (file, id, inferred count), read by every protocol."""
import logging

import numpy as np
import pytest
from PIL import Image

from dense_ssl_mm.evaluation import dense_eval, run_protocols
from dense_ssl_mm.evaluation.protocols import base
from dense_ssl_mm.evaluation.seg_data import folder_pairs, infer_num_classes
from dense_ssl_mm.utils.errors import BadInputError
from .test_protocol_registry import SIZE, tiny_model, write_folder


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def warnings_logged():
    from mmengine.logging import MMLogger
    handler = Warnings()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def stray_set(tmp_path):
    root = write_folder(tmp_path / 'set')
    mask = np.array(Image.open(root / 'masks' / 'train' / '2.png'))
    mask[:4, :4] = 200  # one stray id in one file
    Image.fromarray(mask).save(root / 'masks' / 'train' / '2.png')
    return root


def masks(root):
    return [m for split in ('train', 'val') for _, m in folder_pairs(str(root), split)]


def test_a_stray_mask_id_is_named_in_one_warning(tmp_path, warnings_logged):
    clean = write_folder(tmp_path / 'clean')
    assert infer_num_classes(masks(clean), str(clean))[0] == 3
    assert warnings_logged == []  # ids 0..2 all occur: nothing to say
    root = stray_set(tmp_path)
    num_classes, source = infer_num_classes(masks(root), str(root))
    assert num_classes == 201
    assert source == f"1 + the largest mask id: 200 in '{root / 'masks' / 'train' / '2.png'}'"
    assert len(warnings_logged) == 1
    assert warnings_logged[0].startswith(
        f"mask '{root / 'masks' / 'train' / '2.png'}' holds class id 200: the class count is "
        'inferred as 201 (1 + the largest id), but only 4 of the ids 0..200 occur in the masks '
        '(0, 1, 2, 200)')
    for _, path in folder_pairs(str(root), 'train') + folder_pairs(str(root), 'val'):
        Image.fromarray(np.full((SIZE, SIZE), 255, np.uint8)).save(path)
    with pytest.raises(BadInputError, match=rf"the masks of '{root}' hold no labelled pixel "
                       r'\(every pixel of the 8 masks is 255 = ignore\)'):
        infer_num_classes(masks(root), str(root))


def test_the_overclustering_error_follows_the_warning(tmp_path, warnings_logged):
    root = stray_set(tmp_path)
    with pytest.raises(BadInputError, match=r"needs K >= the 201 classes \(1 \+ the largest "
                       r"mask id: 200 in '.*train/2\.png'\), got 3"):
        run_protocols(tiny_model(), ['overcluster'], str(tmp_path / 'o'), seg_root=str(root),
                      options=dict(size=SIZE, ks=[3]), progress=False)
    assert len(warnings_logged) == 1 and 'holds class id 200' in warnings_logged[0]


@pytest.mark.parametrize('protocol', ['hummingbird', 'linear', 'overcluster', 'segmentation',
                                      'default read-out'])
def test_every_labelled_protocol_reads_the_class_count_through_the_check(
        tmp_path, protocol, monkeypatch):
    seen = []

    def checked(paths, root=''):
        seen.append(root)
        raise BadInputError('stop here')

    monkeypatch.setattr(base, 'infer_num_classes', checked)
    root = write_folder(tmp_path / 'set')
    with pytest.raises(BadInputError, match='stop here'):
        if protocol == 'default read-out':
            dense_eval(tiny_model(), str(tmp_path / 'e'), seg_root=str(root), seg_size=SIZE,
                       progress=False)
        else:
            run_protocols(tiny_model(), [protocol], str(tmp_path / 'o'), seg_root=str(root),
                          options=dict(size=SIZE), progress=False)
    assert seen == [str(root)]
