"""Orchestration above the models: launching training and testing runs, comparing methods,
exporting backbones, registering every module (mmdet's ``register_all_modules``). What
``tools/`` calls; imported on demand (importing ``dense_ssl_mm`` does not import it)."""
from .registration import register_all_modules

__all__ = ['register_all_modules']
