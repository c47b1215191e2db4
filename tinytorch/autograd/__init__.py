"""Automatic differentiation: Function (the node), the backward engine, grad and backward on request, grad mode, gradcheck."""
from tinytorch.autograd.function import Function
from tinytorch.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinytorch.autograd.gradcheck import gradcheck
from tinytorch.autograd.gradients import backward, grad

__all__ = ["Function", "backward", "grad", "gradcheck", "no_grad", "enable_grad",
           "is_grad_enabled", "set_grad_enabled"]
