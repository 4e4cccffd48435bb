from .view_data import ViewData, Views, split_views, view_groups

__all__ = ['ViewData', 'Views', 'split_views', 'view_groups']
