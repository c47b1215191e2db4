"""Grad mode: whether operations record a graph.

Autograd costs memory: every recorded operation keeps the arrays its gradient
needs until ``backward`` frees them.  When no gradient will ever be asked for
(evaluation, the optimizer's own parameter updates, data preprocessing) the
graph is pure waste, so TinyTorch, like PyTorch, has a switch.  Inside
``with tinytorch.no_grad():`` every result is a plain tensor with
``requires_grad=False`` and no history.

The switch is one module-level flag, read by ``Function.apply`` on every call;
``no_grad`` and ``enable_grad`` are context managers (and decorators) that set
it and restore the previous value on exit, even when an exception escapes.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

_grad_enabled = True

F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True when new operations record the autograd graph."""
    return _grad_enabled


def set_grad_enabled(mode: bool) -> None:
    """Turn graph recording on or off globally."""
    global _grad_enabled
    _grad_enabled = bool(mode)


class _GradModeSwitch:
    """A context manager and decorator that sets grad mode for its body."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        set_grad_enabled(self.mode)

    def __exit__(self, *exc_info: object) -> None:
        set_grad_enabled(self._previous)

    def __call__(self, function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeSwitch):
    """Disable graph recording: ``with tinytorch.no_grad(): ...``."""

    mode = False


class enable_grad(_GradModeSwitch):
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True
