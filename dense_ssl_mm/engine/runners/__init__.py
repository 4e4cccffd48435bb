from .pretrain_runner import PretrainRunner, check_dataloader_yields

__all__ = ['PretrainRunner', 'check_dataloader_yields']
