"""Utilities: data loading."""
from tinytorch.utils import data
