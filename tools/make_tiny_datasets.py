"""Make the tiny COCO-format and VOC-format sets of the CPU transfer path.

    python tools/make_tiny_datasets.py [OUT_DIR]   (default data/tiny)

From the bundled photos in configs/demo/images (public domain / CC0, licence file copied
beside the data), with hand-drawn annotations: boxes traced on the photos, and masks that are
the ellipses inscribed in those boxes. Writes
  OUT/coco/{images/*.jpg, annotations/instances.json}      COCO instances (bbox + polygon)
  OUT/voc/VOC2012/{JPEGImages, SegmentationClass, ImageSets/Segmentation/{train,val}.txt}
"""
import argparse
import json
import math
import os
import os.path as osp
import shutil

import cv2
import numpy as np

from dense_ssl_mm.utils.cli import run_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGES = osp.join(REPO, 'configs', 'demo', 'images')

# COCO category ids / VOC class indices of the objects drawn below.
COCO_CATEGORIES = [dict(id=1, name='person', supercategory='person'),
                   dict(id=17, name='cat', supercategory='animal'),
                   dict(id=47, name='cup', supercategory='kitchen')]
VOC_INDEX = {'person': 15, 'cat': 8}
# (file, [(category, [x1, y1, x2, y2])]) in pixels of the bundled (288 px high) photos.
OBJECTS = [
    ('astronaut.jpg', [('person', [8, 4, 205, 288])]),
    ('chelsea.jpg', [('cat', [0, 0, 400, 288])]),
    ('coffee.jpg', [('cup', [108, 8, 300, 222])]),
]


def ellipse_polygon(box, points: int = 24):
    x1, y1, x2, y2 = box
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
    poly = []
    for k in range(points):
        t = 2 * math.pi * k / points
        poly += [round(cx + rx * math.cos(t), 1), round(cy + ry * math.sin(t), 1)]
    return poly


def make_coco(out: str) -> str:
    os.makedirs(osp.join(out, 'images'), exist_ok=True)
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    images, annotations = [], []
    cat_id = {c['name']: c['id'] for c in COCO_CATEGORIES}
    for img_id, (name, objects) in enumerate(OBJECTS, start=1):
        shutil.copy(osp.join(IMAGES, name), osp.join(out, 'images', name))
        h, w = cv2.imread(osp.join(IMAGES, name)).shape[:2]
        images.append(dict(id=img_id, file_name=name, width=w, height=h))
        for category, box in objects:
            poly = ellipse_polygon(box)
            area = math.pi * (box[2] - box[0]) * (box[3] - box[1]) / 4
            annotations.append(dict(
                id=len(annotations) + 1, image_id=img_id, category_id=cat_id[category],
                bbox=[box[0], box[1], box[2] - box[0], box[3] - box[1]], area=area,
                segmentation=[poly], iscrowd=0))
    path = osp.join(out, 'annotations', 'instances.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=COCO_CATEGORIES,
                       info=dict(description='dense_ssl_mm tiny COCO set'), licenses=[]), f)
    return path


def make_voc(out: str) -> str:
    root = osp.join(out, 'VOC2012')
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    names = []
    for name, objects in OBJECTS:
        stem = osp.splitext(name)[0]
        img = cv2.imread(osp.join(IMAGES, name))
        cv2.imwrite(osp.join(root, 'JPEGImages', f'{stem}.jpg'), img)
        label = np.zeros(img.shape[:2], np.uint8)  # 0 = background
        for category, box in objects:
            if category not in VOC_INDEX:
                continue  # not a VOC class: stays background
            x1, y1, x2, y2 = box
            centre = ((x1 + x2) // 2, (y1 + y2) // 2)
            axes = ((x2 - x1) // 2, (y2 - y1) // 2)
            cv2.ellipse(label, centre, axes, 0, 0, 360, 255, thickness=3)  # 255 = ignore edge
            cv2.ellipse(label, centre, (axes[0] - 2, axes[1] - 2), 0, 0, 360,
                        VOC_INDEX[category], thickness=-1)
        cv2.imwrite(osp.join(root, 'SegmentationClass', f'{stem}.png'), label)
        names.append(stem)
    for split in ('train', 'val'):
        with open(osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    return root


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', nargs='?', default='data/tiny')
    args = parser.parse_args(argv)
    coco = make_coco(osp.join(args.out, 'coco'))
    voc = make_voc(osp.join(args.out, 'voc'))
    shutil.copy(osp.join(IMAGES, 'LICENSE.md'), osp.join(args.out, 'LICENSE.md'))
    print(f'tiny COCO: {coco}\ntiny VOC: {voc}')


if __name__ == '__main__':
    run_tool('make_tiny_datasets', main)
