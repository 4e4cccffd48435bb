"""The evaluation protocols as registered modules: options documented with one default each,
read-out names that say their options, features extracted once per run, and bad labelled
sets refused naming the file."""
import dataclasses
import math
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from dense_ssl_mm.evaluation import (build_eval_model, build_protocol, dense_eval, load_pairs,
                                     protocol_names, run_protocols)
from dense_ssl_mm.evaluation.protocols import Protocol, SegmentationReadout
from dense_ssl_mm.evaluation.protocols.hummingbird import PairReader
from dense_ssl_mm.registry import PROTOCOLS
from ..conftest import DEMO_IMAGES
from ..helpers import tiny_model_cfg

SIZE, TRAIN, VAL, BATCH = 32, 5, 3, 2


def write_folder(root, train=TRAIN, val=VAL, size=SIZE, seed=0):
    """A labelled folder layout of three-class block scenes (image colour = class)."""
    gen = np.random.default_rng(seed)
    colours = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200]], np.uint8)
    for split, count in (('train', train), ('val', val)):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'masks' / split).mkdir(parents=True)
        for i in range(count):
            labels = gen.integers(0, 3, (4, 4)).repeat(size // 4, 0).repeat(size // 4, 1)
            Image.fromarray(colours[labels]).save(root / 'images' / split / f'{i}.png')
            Image.fromarray(labels.astype(np.uint8)).save(root / 'masks' / split / f'{i}.png')
    return root


def tiny_model():
    return build_eval_model(Config(dict(model=tiny_model_cfg(), default_scope='dense_ssl_mm')))


def count_backbone_images(model):
    """Wrap the backbone's forward: ``calls`` (forward passes) and ``images`` (their sizes)."""
    counts = dict(calls=0, images=0)
    forward = model.backbone.forward

    def counting(x, *args, **kwargs):
        counts['calls'] += 1
        counts['images'] += x.shape[0]
        return forward(x, *args, **kwargs)

    model.backbone.forward = counting
    return counts


def test_the_registry_holds_every_protocol_with_documented_options():
    assert protocol_names() == ['correspondence', 'health', 'hummingbird', 'linear',
                                'overcluster', 'segmentation']
    for name in protocol_names():
        cls = PROTOCOLS.get(name)
        assert issubclass(cls, Protocol) and dataclasses.is_dataclass(cls), name
        docs = ''.join(c.__doc__ or '' for c in cls.__mro__)
        for field in dataclasses.fields(cls):
            assert f'{field.name}:' in docs or f'{field.name} /' in docs, (name, field.name)
            assert field.default is not dataclasses.MISSING, (name, field.name)


def test_none_options_keep_the_protocols_own_defaults():
    hb = build_protocol('hummingbird', dict(size=None, k=None, level='C5', epochs=3))
    assert (hb.size, hb.k, hb.temperature, hb.level) == (224, 30, 0.02, 'C5')
    seg = build_protocol('segmentation', dict(size=None))
    assert (seg.size, seg.knn_k, seg.knn_temperature, seg.probe_steps) == (224, 20, 0.07, 300)
    assert build_protocol('linear', dict(size=None)).size == 448
    with pytest.raises(ValueError, match=r"unknown protocol 'hummingbrd'; expected one of"):
        build_protocol('hummingbrd')
    with pytest.raises(ValueError, match='Hummingbird: level must be one of'):
        build_protocol('hummingbird', dict(level='C7'))


def test_read_out_names_say_their_options():
    assert SegmentationReadout().names() == {
        'knn_miou': 'seg/knn_miou@k20,T0.07', 'knn_acc': 'seg/knn_acc@k20,T0.07',
        'linear_miou': 'seg/linear_miou@adam300,lr0.01',
        'linear_acc': 'seg/linear_acc@adam300,lr0.01'}
    other = SegmentationReadout(knn_k=30, knn_temperature=0.02).names()
    assert other['knn_miou'] == 'seg/knn_miou@k30,T0.02'


def test_unknown_options_and_missing_inputs_are_refused_before_running(tmp_path):
    model = tiny_model()
    with pytest.raises(ValueError, match=r"unknown protocol option\(s\) \['sise'\]"):
        run_protocols(model, ['overcluster'], str(tmp_path), options=dict(sise=3))
    with pytest.raises(ValueError, match='the overcluster protocol needs a labelled set'):
        run_protocols(model, ['correspondence', 'overcluster'], str(tmp_path),
                      images=DEMO_IMAGES, progress=False)


def test_protocols_sharing_a_layer_and_size_extract_the_features_once(tmp_path):
    """The read-out, the overclustering and the linear probe at one size: the validation
    features are computed once for the three, the read-out's training features once; only
    the linear probe's augmented training crops add forwards (one pass per epoch)."""
    root = write_folder(tmp_path / 'set')
    model = tiny_model()
    counts = count_backbone_images(model)
    epochs = 2
    out = run_protocols(model, ['segmentation', 'overcluster', 'linear'], str(tmp_path / 'a'),
                        seg_root=str(root), progress=False,
                        options=dict(size=SIZE, epochs=epochs, ks=[3], seeds=(0, ),
                                     batch_size=BATCH))
    per_pass = math.ceil(TRAIN / BATCH)
    assert counts['images'] == TRAIN + VAL + epochs * TRAIN
    assert counts['calls'] == per_pass + math.ceil(VAL / BATCH) + epochs * per_pass
    assert 0 <= out['overcluster']['miou_k3'] <= 1 and 0 <= out['linear']['miou'] <= 1
    assert out['segmentation']['settings']['knn_k'] == 20
    # the default read-out: its picture of the validation features reuses them too
    counts.update(calls=0, images=0)
    metrics = dense_eval(model, str(tmp_path / 'b'), seg_root=str(root), seg_size=SIZE,
                         batch_size=BATCH, progress=False)
    assert counts['images'] == TRAIN + VAL
    assert metrics['seg/knn_miou@k20,T0.07'] == out['segmentation']['seg/knn_miou@k20,T0.07']


def test_a_mask_of_another_size_than_its_image_is_refused_naming_both(tmp_path):
    root = write_folder(tmp_path / 'set')
    Image.fromarray(np.zeros((24, 20), np.uint8)).save(root / 'masks' / 'val' / '1.png')
    with pytest.raises(ValueError, match=r"mask '.*val/1\.png' is 20 x 24 but its image "
                       r"'.*val/1\.png' is 32 x 32"):
        dense_eval(tiny_model(), str(tmp_path / 'e'), seg_root=str(root), seg_size=SIZE,
                   progress=False)
    pairs = [(str(root / 'images' / 'val' / '1.png'), str(root / 'masks' / 'val' / '1.png'))]
    with pytest.raises(ValueError, match=r"is 20 x 24 but its image"):
        PairReader(pairs)[0]


def test_mask_ids_beyond_the_class_count_are_named(tmp_path):
    root = write_folder(tmp_path / 'set')
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[:4, :4] = 200  # one stray id in one file
    Image.fromarray(mask).save(root / 'masks' / 'train' / '2.png')
    pairs = [(str(root / 'images' / 'train' / '2.png'), str(root / 'masks' / 'train' / '2.png'))]
    with pytest.raises(ValueError, match=r"mask '.*train/2\.png' holds class id 200, outside "
                       r"the 3 classes \[0, 3\)"):
        load_pairs(pairs, SIZE, num_classes=3)
    with pytest.raises(ValueError, match=r'holds class id 200, outside the 3 classes'):
        PairReader(pairs, num_classes=3)[0]
    # without a dataset config the class count comes from the masks: the error says so
    with pytest.raises(ValueError, match=r"needs K >= the 201 classes \(1 \+ the largest "
                       r"mask id: 200 in '.*train/2\.png'\), got 3"):
        run_protocols(tiny_model(), ['overcluster'], str(tmp_path / 'o'), seg_root=str(root),
                      options=dict(size=SIZE, ks=[3]), progress=False)
    # without a class count the reader keeps the id (the protocols count it as a class)
    kept = load_pairs(pairs, SIZE)[1][0, :4, :4]
    assert torch.equal(kept, torch.full((4, 4), 200, dtype=torch.uint8))


def test_the_default_read_out_names_a_mask_id_beyond_the_config_classes(tmp_path):
    """With an mmseg dataset config the class count is its metainfo's (VOC: 21): a mask id
    of 30 is refused naming the file, the id and the count, not scored."""
    import os.path as osp
    import subprocess
    import sys
    from ..conftest import REPO
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'make_tiny_datasets.py'),
                           str(tmp_path / 'tiny')], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    voc = tmp_path / 'tiny' / 'voc' / 'VOC2012'
    name = (voc / 'ImageSets' / 'Segmentation' / 'train.txt').read_text().split()[0]
    mask_path = voc / 'SegmentationClass' / f'{name}.png'
    mask = np.array(Image.open(mask_path))
    mask[:2, :2] = 30
    Image.fromarray(mask).save(mask_path)
    cfg = tmp_path / 'voc.py'
    base = osp.join(REPO, 'configs', 'benchmarks', 'tiny', 'fcn_r18-d8_tiny-voc.py')
    cfg.write_text(f"_base_ = '{base}'\n"
                   f"train_dataloader = dict(dataset=dict(data_root='{voc}'))\n"
                   f"val_dataloader = dict(dataset=dict(data_root='{voc}'))\n")
    with pytest.raises(ValueError, match=rf"mask '.*{name}\.png' holds class id 30, outside "
                       r"the 21 classes \[0, 21\)"):
        dense_eval(tiny_model(), str(tmp_path / 'e'), seg_config=str(cfg), seg_size=SIZE,
                   progress=False)


def test_a_new_protocol_is_one_registered_class_sharing_the_run_features(tmp_path):
    root = write_folder(tmp_path / 'set')

    @dataclasses.dataclass
    class FeatureNorm(Protocol):
        """The norm of the validation features.

        Args:
            size: Side of the square images.
        """

        size: int = 448
        needs = ('labels', )

        def run(self, ev):
            feats = ev.features('val', self.level, self.size)
            return dict(norm=float(feats.norm()), settings=self.settings())

    PROTOCOLS.register_module(name='feature_norm', module=FeatureNorm)
    try:
        model = tiny_model()
        counts = count_backbone_images(model)
        out = run_protocols(model, ['feature_norm', 'overcluster'], str(tmp_path / 'w'),
                            seg_root=str(root), options=dict(size=SIZE, ks=[3], seeds=(0, )),
                            progress=False)
    finally:
        PROTOCOLS._module_dict.pop('feature_norm')
    assert counts['images'] == VAL  # the overclustering used the same features
    from dense_ssl_mm.evaluation import features_of, folder_pairs
    expected = features_of(model, load_pairs(folder_pairs(str(root), 'val'), SIZE)[0], 'C4')
    assert out['feature_norm']['norm'] == pytest.approx(float(expected.norm()), rel=1e-6)
    assert out['feature_norm']['settings'] == dict(level='C4', seed=0, size=SIZE)


def test_one_protocol_twice_with_named_options_shares_its_features(tmp_path):
    root = write_folder(tmp_path / 'set')
    model = tiny_model()
    counts = count_backbone_images(model)
    out = run_protocols(model, [dict(type='segmentation', name='seg_k20'),
                                dict(type='segmentation', name='seg_k3', knn_k=3,
                                     knn_temperature=0.5)],
                        str(tmp_path / 'w'), seg_root=str(root), options=dict(size=SIZE),
                        progress=False)
    assert counts['images'] == TRAIN + VAL
    assert 'seg/knn_miou@k20,T0.07' in out['seg_k20'] and 'seg/knn_miou@k3,T0.5' in out['seg_k3']
    assert out['seg_k3']['protocol'] == 'segmentation'
    assert out['seg_k3']['settings']['knn_k'] == 3 and out['seg_k3']['settings']['size'] == SIZE
    # the linear read-out has the same options in both: the same number
    linear = 'seg/linear_miou@adam300,lr0.01'
    assert out['seg_k20'][linear] == out['seg_k3'][linear]
    with pytest.raises(ValueError, match=r"protocol 'segmentation' has no option\(s\) \['k'\]"):
        run_protocols(model, [dict(type='segmentation', k=3)], str(tmp_path / 'x'),
                      seg_root=str(root))
    with pytest.raises(ValueError, match="protocol entry 'segmentation' is given twice"):
        run_protocols(model, ['segmentation', 'segmentation'], str(tmp_path / 'x'),
                      seg_root=str(root))


def test_every_file_of_the_protocols_folder_is_imported_with_the_package():
    """A protocol is one file: its module is imported (so registered) without an edit to
    ``protocols/__init__.py``; a subprocess imports the package with an extra file there."""
    import subprocess
    import sys
    import dense_ssl_mm.evaluation.protocols as protocols
    folder = osp.dirname(protocols.__file__)
    extra = osp.join(folder, 'zz_probe_protocol.py')
    with open(extra, 'w') as f:
        f.write('import dataclasses\n'
                'from dense_ssl_mm.registry import PROTOCOLS\n'
                'from .base import Protocol\n\n\n'
                '@PROTOCOLS.register_module(name="zz_probe")\n'
                '@dataclasses.dataclass\n'
                'class Probe(Protocol):\n'
                '    """A probe."""\n\n'
                '    def run(self, ev):\n'
                '        return {}\n')
    try:
        out = subprocess.run(
            [sys.executable, '-c', 'import dense_ssl_mm.evaluation.protocols; '
             'from dense_ssl_mm.registry import PROTOCOLS; print("zz_probe" in PROTOCOLS)'],
            capture_output=True, text=True, check=True)
    finally:
        os.remove(extra)
    assert out.stdout.strip() == 'True', out.stderr
