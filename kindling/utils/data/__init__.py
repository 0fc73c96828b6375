"""Datasets, samplers and the DataLoader, at PyTorch's import path (torch.utils.data)."""
from .dataset import (Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset,
                      ChainDataset, Subset, random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                      WeightedRandomSampler, BatchSampler, DistributedSampler)
from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info, WorkerInfo

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "DistributedSampler",
           "default_collate", "default_convert", "DataLoader", "get_worker_info", "WorkerInfo"]
