from .view_data import PairedViewData, ViewData, Views, split_views, view_groups

__all__ = ['PairedViewData', 'ViewData', 'Views', 'split_views', 'view_groups']
