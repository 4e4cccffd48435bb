"""The registered evaluation protocols, one file each (:data:`dense_ssl_mm.registry.PROTOCOLS`).

============== ============================================================================
name           what it measures
============== ============================================================================
correspondence label-free correspondence PCK between two views (:mod:`.correspondence`)
health         monitors and a verdict of a pretraining run (:mod:`.health`)
segmentation   the quick kNN / linear read-out of ``dense_eval`` (:mod:`.segmentation`)
hummingbird    dense retrieval as open-hummingbird-eval (:mod:`.hummingbird`)
overcluster    k-means matched to the classes, as Leopart / NeCo (:mod:`.overcluster`)
linear         the NeCo / Leopart linear probe (:mod:`.linear`)
============== ============================================================================

A new protocol is one file in this folder: every module here is imported with the package, so
its ``@PROTOCOLS.register_module`` runs without an edit to this file.
"""
import importlib
import pkgutil

from .base import EvalRun, Protocol
from .correspondence import Correspondence, evaluate_correspondence
from .health import Health
from .hummingbird import Hummingbird
from .linear import Linear, linear_probe_protocol
from .overcluster import Overcluster, overcluster
from .segmentation import SegmentationReadout, knn_readout, linear_readout

__all__ = ['Correspondence', 'EvalRun', 'Health', 'Hummingbird', 'Linear', 'Overcluster',
           'Protocol', 'SegmentationReadout', 'evaluate_correspondence', 'knn_readout',
           'linear_probe_protocol', 'linear_readout', 'overcluster']

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f'{__name__}.{_module.name}')
