"""compare_methods on the user's own folder: the DetCon configs' FH masks are made for that
folder and cached under the work dir (the demo config's image root would refuse its images)."""
import os.path as osp
import shutil

import cv2
import numpy as np

from dense_ssl_mm.apis.compare import comparison_config
from dense_ssl_mm.datasets.fh_masks import fh_segments, read_mask
from dense_ssl_mm.registry import DATASETS
from ..conftest import DEMO_IMAGES, REPO


def test_detcon_demos_compare_on_any_folder(tmp_path):
    photos = tmp_path / 'my photos'
    photos.mkdir()
    shutil.copy(osp.join(DEMO_IMAGES, 'coffee.jpg'), photos / 'IMG_0001.JPG')
    work = tmp_path / 'compare'
    caches = set()
    for demo in ('detconb_r18_demo.py', 'detcons_r18_demo.py'):
        cfg = comparison_config(osp.join(REPO, 'configs', 'demo', demo),
                                str(work / demo[:-3]), 2, data_root=str(photos))
        load = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'LoadFHMask'][0]
        assert load.img_root == str(photos) and load.on_missing == 'compute_and_cache'
        assert osp.dirname(load.mask_root) == str(work)
        caches.add(load.mask_root)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        item = dataset[0]  # was: "image ... is not under the image root configs/demo"
        assert item is not None and 'inputs' in item
    assert len(caches) == 1  # one cache for both methods
    cache = caches.pop()
    assert osp.basename(cache).startswith('fh_masks_my_photos-')
    assert cache.endswith('_1000_1000_0.8')
    img = cv2.imread(str(photos / 'IMG_0001.JPG'))
    cached = read_mask(osp.join(cache, 'IMG_0001.JPG.png'))
    assert np.array_equal(cached, fh_segments(img))
    # another folder with a file of the same name, the same work dir: its own cache
    other = tmp_path / 'other photos'
    other.mkdir()
    shutil.copy(osp.join(DEMO_IMAGES, 'chelsea.jpg'), other / 'IMG_0001.JPG')
    cfg = comparison_config(osp.join(REPO, 'configs', 'demo', 'detconb_r18_demo.py'),
                            str(work / 'detconb_r18_demo'), 2, data_root=str(other))
    load = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'LoadFHMask'][0]
    assert load.mask_root != cache and load.img_root == str(other)
