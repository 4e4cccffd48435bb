from .batch_shuffle import batch_shuffle, batch_unshuffle
from .mask_pooling import cell_segments, pool_segments, sample_segments
from .queue import FeatureQueue, ReferenceQueue
from .region_align import align_shared_regions
from .sorting import bitonic_layers, soft_sort
from .strict_pretrained import StrictPretrainedInit, fit_report

__all__ = [
    'FeatureQueue', 'ReferenceQueue', 'StrictPretrainedInit', 'align_shared_regions',
    'batch_shuffle', 'batch_unshuffle', 'bitonic_layers', 'cell_segments', 'fit_report',
    'pool_segments', 'sample_segments', 'soft_sort'
]
