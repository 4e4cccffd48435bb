"""Registries of dense_ssl_mm.

Each registry is a child of mmengine's root registry of the same kind, with scope
``dense_ssl_mm`` (inferred from this package) and ``locations`` that import the modules which
register into it. With ``default_scope='dense_ssl_mm'`` a config finds our modules by plain
name and reaches other OpenMMLab packages by prefix (``mmdet.ResNet``). A module that builds
children through its own registry (a head building its loss) needs its scope for the whole
build: give its dict ``_scope_='mmseg'`` (configs inherited with ``mmdet::``/``mmseg::`` have it).
Registries for which the package defines nothing of its own (metrics, visualizers)
exist so that building them under our default scope finds a registry instead of warning;
their ``locations`` import the whole package.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['dense_ssl_mm.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['dense_ssl_mm.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['dense_ssl_mm.engine'])
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMENGINE_LOG_PROCESSORS, locations=['dense_ssl_mm.engine'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['dense_ssl_mm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['dense_ssl_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['dense_ssl_mm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['dense_ssl_mm.engine'])

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['dense_ssl_mm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['dense_ssl_mm.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['dense_ssl_mm.datasets.transforms'])

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['dense_ssl_mm.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['dense_ssl_mm.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, locations=['dense_ssl_mm.models'])
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, locations=['dense_ssl_mm.models'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=['dense_ssl_mm.models'])

METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['dense_ssl_mm'])
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, locations=['dense_ssl_mm'])
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=['dense_ssl_mm'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, locations=['dense_ssl_mm'])

# Our own kind (no mmengine parent): the dense evaluation protocols that ``run_protocols`` and
# ``tools/eval_dense.py --protocol`` build by name.
PROTOCOLS = Registry('evaluation protocol', locations=['dense_ssl_mm.evaluation.protocols'])
