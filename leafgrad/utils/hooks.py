"""Handles returned by every ``register_*hook`` call."""
from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]

_ids = itertools.count()


class RemovableHandle:
    """Removes the hook it was returned for: ``handle.remove()`` or ``with handle:``."""

    __slots__ = ("hooks", "id")

    def __init__(self, hooks: dict, hook) -> None:
        self.hooks = hooks
        self.id = next(_ids)
        hooks[self.id] = hook  # dicts keep insertion order: hooks run in registration order

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
