"""Operations tooling: GPU acceptance, step benchmarks, the memory estimate, the host-sync counter.

Used by ``tools/*.py`` and the tests only: the library core (``models``, ``datasets``,
``engine``, ``evaluation``, ``structures``, ``utils``, ``apis``, ``visualization``) never
imports this package, and importing it imports none of its modules (import the one you need,
e.g. ``from dense_ssl_mm.operations.benchmark import time_train_steps``).
"""
