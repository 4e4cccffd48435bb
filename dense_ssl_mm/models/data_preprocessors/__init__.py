from .paired_view import PairedViewDataPreprocessor

__all__ = ['PairedViewDataPreprocessor']
