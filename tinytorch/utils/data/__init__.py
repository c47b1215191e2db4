"""Feeding data to a model: datasets, and the loader that batches and shuffles them.

PyTorch's ``torch.utils.data`` names: ``Dataset`` and ``TensorDataset`` hold
examples (``dataset.py``), ``DataLoader`` turns them into shuffled
mini-batches (``dataloader.py``).
"""
from tinytorch.utils.data.dataloader import DataLoader, default_collate
from tinytorch.utils.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "TensorDataset", "DataLoader", "Subset", "random_split", "default_collate"]
