"""TensorBoard is a requirement: the configs' backend writes scalars and pictures there."""
import glob

import numpy as np

from dense_ssl_mm.registry import VISBACKENDS


def test_scalars_and_pictures_reach_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    backend = VISBACKENDS.build(dict(type='OptionalTensorboardVisBackend',
                                     save_dir=str(tmp_path)))
    picture = np.zeros((16, 24, 3), dtype=np.uint8)
    picture[:, :12, 0] = 255
    backend.add_image('dense_eval/pca', picture, step=25)
    backend.add_scalars({'corr/pck@1': 0.25}, step=25)
    assert backend.enabled  # tensorboard is in requirements/runtime.txt
    backend.close()
    events = EventAccumulator(glob.glob(str(tmp_path / '**' / 'events.out.tfevents*'),
                                        recursive=True)[0])
    events.Reload()
    assert 'dense_eval/pca' in events.Tags()['images']
    image = events.Images('dense_eval/pca')[0]
    assert (image.step, image.width, image.height) == (25, 24, 16)
    assert [(s.step, s.value) for s in events.Scalars('corr/pck@1')] == [(25, 0.25)]
