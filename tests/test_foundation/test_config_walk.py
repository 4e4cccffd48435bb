"""find_by_type: every node of a type in a nested config, with its path, by name or class."""
import pytest
from mmengine.config import Config, ConfigDict

from dense_ssl_mm.utils.config_walk import find_by_type, path_str, type_matches


class Crop:
    pass


class OtherCrop:
    pass


OtherCrop.__name__ = 'Crop'  # same name, another class


def hand_made():
    """Crops at four depths: in a list, in a tuple inside a transform, under a dict key, and
    in a found transform's own view pipelines; one scoped and one given as a class."""
    return dict(
        train_dataloader=dict(batch_size=2, dataset=dict(type='ImageFolderDataset', pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiViewTransform', view_pipelines=[
                [dict(type='Crop', size=64), dict(type='Flip')],
                (dict(type='mmdet.Crop', size=32), ),
            ]),
            dict(type='PackViews'),
        ])),
        model=dict(type='PixPro', data_preprocessor=dict(type='Pre', device=dict(type=Crop))),
        custom_hooks=[dict(type='MomentumEncoderHook'), dict(type='DenseEvalHook',
                                                             interval=25)],
        type='NotAModule')  # a top-level 'type' key is a node too


@pytest.mark.parametrize('wrap', [dict, ConfigDict, Config])
def test_paths_and_nodes_in_walk_order(wrap):
    cfg = wrap(hand_made())
    found = find_by_type(cfg, 'Crop')
    pipeline = ('train_dataloader', 'dataset', 'pipeline')
    assert [p for p, _ in found] == [pipeline + (1, 'view_pipelines', 0, 0),
                                     ('model', 'data_preprocessor', 'device')]
    assert found[0][1]['size'] == 64
    scoped = find_by_type(cfg, 'Crop', ignore_scope=True)
    assert [p for p, _ in scoped] == [pipeline + (1, 'view_pipelines', 0, 0),
                                      pipeline + (1, 'view_pipelines', 1, 0),
                                      ('model', 'data_preprocessor', 'device')]
    assert [p for p, _ in find_by_type(cfg, 'mmdet.Crop')] == [
        pipeline + (1, 'view_pipelines', 1, 0)]
    hooks = find_by_type(cfg, ['DenseEvalHook', 'MomentumEncoderHook'])
    assert [path_str(p) for p, _ in hooks] == ['custom_hooks.0', 'custom_hooks.1']
    assert [p for p, _ in find_by_type(cfg, 'NotAModule')] == [()]
    assert find_by_type(cfg, 'Missing') == []


def test_found_nodes_are_the_configs_own():
    cfg = Config(hand_made())
    for _, node in find_by_type(cfg.train_dataloader, 'Crop', ignore_scope=True):
        node['size'] = 7
    views = cfg.train_dataloader.dataset.pipeline[1].view_pipelines
    assert views[0][0]['size'] == 7 and views[1][0]['size'] == 7


def test_a_walk_into_a_found_node_and_a_bare_list():
    pipeline = hand_made()['train_dataloader']['dataset']['pipeline']
    found = find_by_type(pipeline, ('MultiViewTransform', 'Crop'))
    assert [p for p, _ in found] == [(1, ), (1, 'view_pipelines', 0, 0)]


def test_a_class_matches_itself_and_its_name_never_another_class():
    assert type_matches(Crop, Crop) and type_matches('Crop', Crop)
    assert not type_matches(OtherCrop, Crop)
    assert type_matches(OtherCrop, 'Crop')  # asked by name: any class of that name
    assert not type_matches('mmdet.Crop', Crop)
    assert type_matches('mmdet.Crop', Crop, ignore_scope=True)
    cfg = hand_made()
    assert [p for p, _ in find_by_type(cfg, Crop)] == [
        ('train_dataloader', 'dataset', 'pipeline', 1, 'view_pipelines', 0, 0),
        ('model', 'data_preprocessor', 'device')]


def test_bad_queries_name_what_was_expected():
    with pytest.raises(ValueError, match='find_by_type: no type given'):
        find_by_type({}, [])
    with pytest.raises(TypeError, match='find_by_type: a type is a name or a class, got 3'):
        find_by_type({}, ['Crop', 3])
