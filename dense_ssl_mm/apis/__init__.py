"""Orchestration above the models: launching training and testing runs, comparing methods,
exporting backbones. What ``tools/`` calls; imported on demand (importing ``dense_ssl_mm``
does not import it)."""
