"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

The mode is thread-local, as in torch: a ``no_grad`` block in one thread does not affect another.
"""
from __future__ import annotations

import functools
import inspect

from leafgrad._grad_state import STATE

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


def is_grad_enabled() -> bool:
    """True when ops record a graph in this thread."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContextManager:
    """Base class: usable as ``with mode():`` and as ``@mode()`` on functions and generators."""

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                try:
                    with self.clone():
                        response = gen.send(None)
                    while True:
                        try:
                            request = yield response
                        except GeneratorExit:
                            with self.clone():
                                gen.close()
                            raise
                        except BaseException as exc:
                            with self.clone():
                                response = gen.throw(exc)
                        else:
                            with self.clone():
                                response = gen.send(request)
                except StopIteration as stop:  # the generator finished: pass on its value
                    return stop.value
            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_DecoratorContextManager):
    """Disable graph recording: results of ops do not require grad.

    Example::

        with leafgrad.no_grad():
            y = x * 2          # y.requires_grad is False
    """

    def __init__(self) -> None:
        self.prev = True

    def __enter__(self) -> None:
        self.prev = STATE.enabled
        STATE.enabled = False

    def __exit__(self, *exc) -> None:
        STATE.enabled = self.prev


class enable_grad(_DecoratorContextManager):
    """Enable graph recording inside a ``no_grad`` block."""

    def __init__(self) -> None:
        self.prev = False

    def __enter__(self) -> None:
        self.prev = STATE.enabled
        STATE.enabled = True

    def __exit__(self, *exc) -> None:
        STATE.enabled = self.prev


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode on or off; works as a plain call, a context manager and a decorator."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled() expects a bool, got {type(mode).__name__}")
        self.prev = STATE.enabled
        self.mode = mode
        STATE.enabled = mode

    def __call__(self, func):
        STATE.enabled = self.prev  # used as a decorator: the mode applies only inside func
        return super().__call__(func)

    def __enter__(self) -> None:
        STATE.enabled = self.mode

    def __exit__(self, *exc) -> None:
        STATE.enabled = self.prev

    def clone(self):
        clone = self.__class__.__new__(self.__class__)
        clone.prev, clone.mode = STATE.enabled, self.mode
        return clone


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad`` (leafgrad has no separate inference tensors); ``mode=False`` is a no-op."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self.prev = (True, False)

    def __enter__(self) -> None:
        self.prev = (STATE.enabled, STATE.inference)
        if self.mode:
            STATE.enabled, STATE.inference = False, True

    def __exit__(self, *exc) -> None:
        STATE.enabled, STATE.inference = self.prev

    def clone(self):
        return self.__class__(self.mode)
