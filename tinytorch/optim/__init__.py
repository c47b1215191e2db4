"""``tinytorch.optim``: optimizers and learning-rate schedules (PyTorch's names and rules)."""
from tinytorch.optim import lr_scheduler
from tinytorch.optim.adam import Adam, AdamW
from tinytorch.optim.optimizer import Optimizer
from tinytorch.optim.rmsprop import RMSprop
from tinytorch.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
