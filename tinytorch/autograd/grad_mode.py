"""Grad mode: whether operations record a graph.

Autograd costs memory: every recorded operation keeps the arrays its gradient
needs until ``backward`` frees them.  When no gradient will ever be asked for
(evaluation, the optimizer's own parameter updates, data preprocessing) the
graph is pure waste, so TinyTorch, like PyTorch, has a switch.  Inside
``with tinytorch.no_grad():`` every result is a plain tensor with
``requires_grad=False`` and no history.

The switch is one module-level flag, read by ``Function.apply`` on every call;
``no_grad``, ``enable_grad`` and ``set_grad_enabled`` are context managers
(and decorators) that set it and restore the previous value on exit, even when
an exception escapes.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

_grad_enabled = True

F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True when new operations record the autograd graph."""
    return _grad_enabled


def _set_grad_enabled(mode: bool) -> None:
    global _grad_enabled
    _grad_enabled = bool(mode)


class _GradModeSwitch:
    """A context manager and decorator that sets grad mode for its body."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        _set_grad_enabled(self.mode)

    def __exit__(self, *exc_info: object) -> None:
        _set_grad_enabled(self._previous)

    def __call__(self, function: F) -> F:
        mode = self.mode

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = is_grad_enabled()
            _set_grad_enabled(mode)
            try:
                return function(*args, **kwargs)
            finally:
                _set_grad_enabled(previous)

        return wrapper  # type: ignore[return-value]


class _SwitchWithoutArguments(_GradModeSwitch):
    """Also usable as a bare decorator, ``@no_grad`` as well as ``@no_grad()``, like PyTorch."""

    def __new__(cls, function: Callable[..., Any] | None = None) -> Any:
        if function is None:
            return super().__new__(cls)
        if not callable(function):
            raise TypeError(f"{cls.__name__}() takes no arguments (got {function!r})")
        return super().__new__(cls)(function)


class no_grad(_SwitchWithoutArguments):
    """Disable graph recording: ``with tinytorch.no_grad(): ...``."""

    mode = False


class enable_grad(_SwitchWithoutArguments):
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeSwitch):
    """Set grad mode to ``mode``: for good as a call, for a block as ``with``.

    PyTorch code uses both forms, ``torch.set_grad_enabled(False)`` and
    ``with torch.set_grad_enabled(is_training):``, so the switch happens when
    the object is made, and ``__exit__`` puts the previous mode back.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = is_grad_enabled()
        _set_grad_enabled(self.mode)

    def __enter__(self) -> None:
        pass  # already switched in __init__

    def __call__(self, function: F) -> F:
        # As a decorator it must not change the mode at definition time.
        _set_grad_enabled(self._previous)
        return super().__call__(function)
