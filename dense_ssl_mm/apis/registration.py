"""Registration helpers, in the style of mmdet's ``register_all_modules``."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module of dense_ssl_mm so that its registries are populated.

    Args:
        init_default_scope: Also make ``dense_ssl_mm`` the current default scope. If another
            scope is current, a new ``dense_ssl_mm`` scope instance is created and made
            current, as mmdet does.
    """
    import dense_ssl_mm.datasets  # noqa: F401
    import dense_ssl_mm.engine  # noqa: F401
    import dense_ssl_mm.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('dense_ssl_mm'):
        DefaultScope.get_instance('dense_ssl_mm', scope_name='dense_ssl_mm')
        return
    if current.scope_name != 'dense_ssl_mm':
        warnings.warn(f'The current default scope "{current.scope_name}" is not '
                      '"dense_ssl_mm"; a new dense_ssl_mm scope is made current.')
        name = f'dense_ssl_mm-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='dense_ssl_mm')
