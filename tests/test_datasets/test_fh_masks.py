"""The FH mask cache: written once beside the images, read back exactly, resumable, refused
when made with other parameters; the tool's command line."""
import logging
import os
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


@pytest.mark.slow
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


def make_tool(*argv, cwd=REPO):
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', 'make_fh_masks.py'),
                           *map(str, argv)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def one_line(proc, expected):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert expected in lines[-1], proc.stderr[-3000:]


@pytest.mark.slow
def test_camera_extensions_get_masks(tmp_path):
    images = tmp_path / 'photos'
    images.mkdir()
    shutil.copy(osp.join(DEMO_IMAGES, 'rocket.jpg'), images / 'IMG_0001.JPG')
    proc = make_tool(images, '--scale', '100', '--min-size', '50')
    assert proc.returncode == 0 and '1 masks written' in proc.stdout, proc.stderr[-2000:]
    img_path = str(images / 'IMG_0001.JPG')
    out = LoadFHMask(img_root=str(images), scale=100, min_size=50, on_missing='raise')(
        dict(img=cv2.imread(img_path), img_path=img_path))
    assert np.array_equal(out['segments'], fh_segments(cv2.imread(img_path), scale=100,
                                                       min_size=50))


@pytest.mark.slow
def test_temp_files_of_a_killed_run_are_swept_by_the_next(tmp_path):
    import socket
    import time
    images = tmp_path / 'photos'
    images.mkdir()
    for name in ('rocket.jpg', 'coffee.jpg'):
        shutil.copy(osp.join(DEMO_IMAGES, name), images / name)
    masks = tmp_path / 'photos_fh_masks'
    build_mask_cache([str(images / 'rocket.jpg')], str(images), progress=False, scale=100,
                     min_size=50)
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()  # a pid that no longer runs: the writer killed mid-run
    host = socket.gethostname()
    stale = masks / f'.coffee.jpg.png.{dead.pid}@{host}.0badc0de.partial'
    live = masks / f'.coffee.jpg.png.{os.getpid()}@{host}.00000000.partial'
    elsewhere = masks / f'.coffee.jpg.png.{dead.pid}@not-{host}.00000000.partial'
    old_legacy, new_legacy = masks / f'a.jpg.png.tmp{dead.pid}.png', masks / 'b.jpg.png.tmp7.png'
    mine = masks / 'notes.partial'
    for path in (stale, live, elsewhere, old_legacy, new_legacy, mine):
        path.write_bytes(b'half a png')
    os.utime(old_legacy, (time.time() - 7200, time.time() - 7200))
    proc = make_tool(images, '--scale', '100', '--min-size', '50')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '1 masks written, 1 already there' in proc.stdout
    assert 'removed 2 temporary files of a killed run' in proc.stdout
    left = sorted(p.name for p in masks.iterdir())
    assert left == sorted([live.name, elsewhere.name, new_legacy.name, mine.name, 'coffee.jpg.png',
                           'fh_masks.json', 'rocket.jpg.png'])


@pytest.mark.slow
def test_other_parameters_end_in_one_line_via_the_tool_and_via_training(tmp_path):
    images = tmp_path / 'photos'
    images.mkdir()
    shutil.copy(osp.join(DEMO_IMAGES, 'rocket.jpg'), images / 'rocket.jpg')
    assert make_tool(images, '--scale', '100', '--min-size', '50').returncode == 0
    reason = (f"the mask cache '{images}_fh_masks' was made with {{'scale': 100.0, "
              "'min_size': 50, 'sigma': 0.8}, this config asks for {'scale': 1000.0, "
              "'min_size': 1000, 'sigma': 0.8}: delete it or point mask_root elsewhere")
    one_line(make_tool(images), f'make_fh_masks: {reason}')
    demo_cache = tmp_path / 'work_dirs' / 'demo_fh_masks'
    shutil.copytree(f'{images}_fh_masks', demo_cache)  # the DetConB demo's cache, other params
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'),
         osp.join(REPO, 'configs', 'demo', 'detconb_r18_demo.py'), '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', 'train_cfg.max_iters=1'],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    one_line(proc, reason.replace(f'{images}_fh_masks', 'work_dirs/demo_fh_masks'))


@pytest.mark.slow
def test_a_cache_without_its_parameters_is_refused_by_the_tool_and_warned_once(tmp_path):
    from mmengine.logging import MMLogger
    images = tmp_path / 'photos'
    images.mkdir()
    shutil.copy(osp.join(DEMO_IMAGES, 'rocket.jpg'), images / 'rocket.jpg')
    assert make_tool(images, '--scale', '100', '--min-size', '50').returncode == 0
    os.remove(f'{images}_fh_masks/fh_masks.json')  # a copied cache, its parameters unknown
    one_line(make_tool(images), f"make_fh_masks: the mask cache '{images}_fh_masks' holds "
                                'masks but no fh_masks.json: the FH parameters they were made '
                                'with cannot be checked')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        for _ in range(2):
            load = LoadFHMask(img_root=str(images), on_missing='compute_and_cache')
            load(dict(img=cv2.imread(str(images / 'rocket.jpg')),
                      img_path=str(images / 'rocket.jpg')))
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in records if 'cannot be checked' in r.getMessage()]
    assert len(warnings) == 1 and 'holds masks but no fh_masks.json' in warnings[0]
    assert not osp.exists(f'{images}_fh_masks/fh_masks.json')  # never blessed after the fact
