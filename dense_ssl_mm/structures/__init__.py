from .paired_view_data import PairedViewData

__all__ = ['PairedViewData']
