"""Unlabeled datasets: folder / list / COCO image lists; unreadable images skipped or named."""
import json
import os

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from dense_ssl_mm.datasets import COCOImageDataset, ImageFolderDataset, ImageListDataset

LOAD = [dict(type='LoadImageFromFile')]


def make_images(root, names, size=(24, 32)):
    for name in names:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        cv2.imwrite(path, np.full(size + (3, ), 127, np.uint8))


def test_folder_is_recursive_and_sorted(tmp_path):
    make_images(tmp_path, ['b/2.jpg', 'a/1.png', 'a/deep/3.JPEG'])
    (tmp_path / 'notes.txt').write_text('not an image')
    ds = ImageFolderDataset(data_root=str(tmp_path), pipeline=LOAD)
    rel = [os.path.relpath(ds.get_data_info(i)['img_path'], tmp_path) for i in range(len(ds))]
    assert rel == ['a/1.png', 'a/deep/3.JPEG', 'b/2.jpg']
    assert ds[0]['img'].shape == (24, 32, 3)


def test_file_list_ignores_labels_and_comments(tmp_path):
    make_images(tmp_path / 'imgs', ['x.jpg', 'y.jpg'])
    (tmp_path / 'list.txt').write_text('# header\nx.jpg 3\n\ny.jpg 7\n')
    ds = ImageListDataset(data_root=str(tmp_path), ann_file='list.txt',
                          data_prefix=dict(img_path='imgs'), pipeline=LOAD)
    assert [os.path.basename(ds.get_data_info(i)['img_path']) for i in range(2)] == [
        'x.jpg', 'y.jpg']


def test_coco_images_in_id_order_labels_unused(tmp_path):
    make_images(tmp_path / 'train2017', ['b.jpg', 'a.jpg'])
    ann = dict(images=[dict(id=2, file_name='b.jpg', width=32, height=24),
                       dict(id=1, file_name='a.jpg', width=32, height=24)],
               annotations=[dict(id=1, image_id=1, bbox=[0, 0, 1, 1], category_id=1)])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    ds = COCOImageDataset(data_root=str(tmp_path), ann_file='ann.json',
                          data_prefix=dict(img_path='train2017/'), pipeline=LOAD)
    assert [os.path.basename(ds.get_data_info(i)['img_path']) for i in range(2)] == [
        'a.jpg', 'b.jpg']
    assert set(ds.get_data_info(0)) == {'img_path', 'sample_idx'}


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        ImageFolderDataset(data_root=str(tmp_path / 'nowhere'), pipeline=LOAD)
    with pytest.raises(FileNotFoundError, match='found no images'):
        ImageFolderDataset(data_root=str(tmp_path), pipeline=LOAD)
    (tmp_path / 'bad.json').write_text('{"annotations": []}')
    with pytest.raises(ValueError, match=r"bad\.json.*'images' list"):
        COCOImageDataset(data_root=str(tmp_path), ann_file='bad.json', pipeline=LOAD)
    with pytest.raises(ValueError, match="on_bad_image must be one of.*got 'ignore'"):
        ImageFolderDataset(data_root=str(tmp_path), pipeline=LOAD, on_bad_image='ignore')


def test_corrupt_image_raises_with_path(tmp_path):
    make_images(tmp_path, ['good.jpg'])
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8 this is not a jpeg')
    ds = ImageFolderDataset(data_root=str(tmp_path), pipeline=LOAD, on_bad_image='raise')
    with pytest.raises(RuntimeError, match=r"cannot load image '.*broken\.jpg'"):
        ds[0]


def test_corrupt_image_skipped_with_warning_and_count(tmp_path, caplog):
    make_images(tmp_path, ['good.jpg'])
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8 this is not a jpeg')
    ds = ImageFolderDataset(data_root=str(tmp_path), pipeline=LOAD, on_bad_image='skip')
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        item = ds[0]  # broken.jpg sorts first: skipped, another image served
        ds[0]  # the same bad file again: counted and reported once
    finally:
        logger.removeHandler(caplog.handler)
    assert item['img_path'].endswith('good.jpg')
    assert ds.num_skipped == 1
    assert 'broken.jpg' in caplog.text and '1 skipped so far' in caplog.text


def test_transform_errors_are_not_swallowed(tmp_path):
    make_images(tmp_path, ['good.jpg'])
    pipe = LOAD + [dict(type='PackViews')]  # no views: a config error, not a bad file
    ds = ImageFolderDataset(data_root=str(tmp_path), pipeline=pipe, on_bad_image='skip')
    with pytest.raises(KeyError, match='views'):
        ds[0]
    assert ds.num_skipped == 0


def test_folder_scan_survives_link_loops_and_lists_each_real_file_once(tmp_path):
    make_images(tmp_path, ['a/1.jpg', 'b/2.jpg'])
    os.symlink('..', tmp_path / 'a' / 'up1')  # two loops back to the root
    os.symlink('..', tmp_path / 'a' / 'up2')
    os.symlink(tmp_path / 'b', tmp_path / 'c')  # a second path to the same folder
    os.symlink(tmp_path / 'a' / '1.jpg', tmp_path / 'b' / 'same.jpg')  # a linked file
    outside = tmp_path.parent / (tmp_path.name + '_outside')
    make_images(outside, ['3.jpg'])
    os.symlink(outside, tmp_path / 'ext')  # links to real folders elsewhere are followed
    ds = ImageFolderDataset(data_root=str(tmp_path), pipeline=LOAD)
    rel = [os.path.relpath(ds.get_data_info(i)['img_path'], tmp_path) for i in range(len(ds))]
    assert rel == ['a/1.jpg', 'b/2.jpg', 'ext/3.jpg']


@pytest.mark.parametrize('images,message', [
    ({'0': {}}, r"'images' in '.*ann\.json' must be a list of image entries, got dict"),
    ([dict(id=1, file_name='a.jpg'), dict(file_name='b.jpg')],
     r"entry 1 of 'images' in '.*ann\.json' has no id: \{'file_name': 'b\.jpg'\}"),
    ([dict(id=1), 'c.jpg'], r"entry 0 of 'images' in '.*ann\.json' has no file_name"),
])
def test_coco_entries_that_are_not_images_are_named(tmp_path, images, message):
    (tmp_path / 'ann.json').write_text(json.dumps(dict(images=images)))
    with pytest.raises(ValueError, match=message):
        COCOImageDataset(data_root=str(tmp_path), ann_file='ann.json', pipeline=LOAD)


def test_camera_extensions_are_read_by_every_folder_reader(tmp_path):
    """``.JPG`` / ``.PNG`` / ``.JPEG`` (what cameras write): the shared helper, the image
    folder dataset and the evaluation folders (images and masks) all find them."""
    from dense_ssl_mm.evaluation.seg_data import folder_pairs
    from dense_ssl_mm.utils.files import find_by_stem, has_extension, list_image_files
    assert has_extension('IMG_1.JPG') and has_extension('x.Jpeg') and not has_extension('a.txt')
    make_images(tmp_path / 'images' / 'train', ['train_0.JPG', 'train_1.JPEG', 'train_2.png'])
    make_images(tmp_path / 'images' / 'val', ['val_0.PNG'])
    for mask in ('train/train_0.PNG', 'train/train_1.PNG', 'train/train_2.png', 'val/val_0.PNG'):
        (tmp_path / 'masks' / mask).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / 'masks' / mask), np.zeros((24, 32), np.uint8))
    assert list_image_files(str(tmp_path / 'images' / 'train')) == [
        'train_0.JPG', 'train_1.JPEG', 'train_2.png']
    found = find_by_stem(str(tmp_path / 'images' / 'train'), ['train_0', 'train_9'])
    assert found == {'train_0': str(tmp_path / 'images' / 'train' / 'train_0.JPG'),
                     'train_9': None}
    pairs = folder_pairs(str(tmp_path), 'train')  # was: "train_0.* ... is missing"
    assert [(os.path.basename(i), os.path.basename(m)) for i, m in pairs] == [
        ('train_0.JPG', 'train_0.PNG'), ('train_1.JPEG', 'train_1.PNG'),
        ('train_2.png', 'train_2.png')]
    assert [os.path.basename(i) for i, _ in folder_pairs(str(tmp_path), 'val')] == ['val_0.PNG']
    ds = ImageFolderDataset(data_root=str(tmp_path / 'images'), pipeline=LOAD)
    assert [os.path.basename(ds.get_data_info(i)['img_path']) for i in range(len(ds))] == [
        'train_0.JPG', 'train_1.JPEG', 'train_2.png', 'val_0.PNG']
    os.remove(tmp_path / 'masks' / 'val' / 'val_0.PNG')
    with pytest.raises(FileNotFoundError, match=r"val sample 'val_0'.*mask .*val_0\.png "
                                                r"is missing"):
        folder_pairs(str(tmp_path), 'val')
