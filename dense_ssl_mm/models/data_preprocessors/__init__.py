from .views import ViewDataPreprocessor

__all__ = ['ViewDataPreprocessor']
