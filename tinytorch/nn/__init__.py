"""``tinytorch.nn``: modules, parameters, layers and losses (PyTorch's names)."""
from tinytorch.nn import functional, init, utils
from tinytorch.nn.activation import LeakyReLU, LogSoftmax, ReLU, ReLU6, Sigmoid, Softmax, Tanh
from tinytorch.nn.batchnorm import BatchNorm1d, BatchNorm2d
from tinytorch.nn.container import ModuleDict, ModuleList, Sequential
from tinytorch.nn.conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from tinytorch.nn.dropout import Dropout
from tinytorch.nn.flatten import Flatten
from tinytorch.nn.linear import Identity, Linear
from tinytorch.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter

__all__ = ["Module", "Parameter", "Linear", "Identity", "ReLU", "ReLU6", "Sigmoid", "Tanh",
           "Softmax", "LogSoftmax", "Dropout", "Flatten", "Sequential", "ModuleList",
           "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d",
           "CrossEntropyLoss", "MSELoss", "functional", "init", "utils",
           "LeakyReLU", "BatchNorm1d", "ModuleDict", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]
