"""The FH mask cache: written once beside the images, read back exactly, resumable, refused
when made with other parameters; the tool's command line."""
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dense_ssl_mm.datasets.fh_masks import (build_mask_cache, fh_segments, mask_path,
                                            mask_root_for, read_mask)
from dense_ssl_mm.datasets.transforms import LoadFHMask
from ..conftest import DEMO_IMAGES, REPO


def test_cache_round_trip_resume_and_parameters(tmp_path):
    images = tmp_path / 'photos'
    images.mkdir()
    for name in ('chelsea.jpg', 'coffee.jpg'):
        shutil.copy(osp.join(DEMO_IMAGES, name), images / name)
    paths = sorted(str(p) for p in images.iterdir())
    first = build_mask_cache(paths, str(images), progress=False, scale=100, min_size=50)
    assert first['written'] == 2 and first['present'] == 0
    assert first['mask_root'] == mask_root_for(str(images)) == str(images) + '_fh_masks'
    for path in paths:
        cached = read_mask(mask_path(path, str(images), first['mask_root']))
        direct = fh_segments(cv2.imread(path), scale=100, min_size=50)
        assert np.array_equal(cached, direct) and cached.max() > 1
    again = build_mask_cache(paths, str(images), progress=False, scale=100, min_size=50)
    assert again['written'] == 0 and again['present'] == 2
    with pytest.raises(ValueError, match=r"was made with \{'scale': 100, 'min_size': 50, "
                                         r"'sigma': 0.8\}, this config asks for \{'scale': "
                                         r"1000.0, 'min_size': 1000"):
        LoadFHMask(img_root=str(images))  # DetCon's 1000 / 1000
    out = LoadFHMask(img_root=str(images), scale=100, min_size=50, on_missing='raise')(
        dict(img=cv2.imread(paths[0]), img_path=paths[0]))
    assert np.array_equal(out['segments'], fh_segments(cv2.imread(paths[0]), scale=100,
                                                       min_size=50))
    with pytest.raises(FileNotFoundError, match='no cached FH mask'):
        LoadFHMask(img_root=str(images), mask_root=str(tmp_path / 'empty'),
                   on_missing='raise')(dict(img=cv2.imread(paths[0]), img_path=paths[0]))


def test_tool_writes_and_reports(tmp_path):
    images = tmp_path / 'photos'
    images.mkdir()
    shutil.copy(osp.join(DEMO_IMAGES, 'rocket.jpg'), images / 'rocket.jpg')
    proc = subprocess.run([sys.executable, 'tools/make_fh_masks.py', str(images), '--scale',
                           '100', '--min-size', '50'], cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '1 masks written, 0 already there, 0 failed' in proc.stdout
    assert osp.isfile(str(images) + '_fh_masks/rocket.jpg.png')
