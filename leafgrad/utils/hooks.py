"""Handles returned by every ``register_*hook`` call."""
from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]

_ids = itertools.count()


class RemovableHandle:
    """Removes the hook it was returned for: ``handle.remove()`` or ``with handle:``.

    ``extra_dict`` (a dict or a list of dicts) holds per-hook flags keyed by the same id (a
    module's ``with_kwargs`` and ``always_call`` marks); they are removed with the hook.
    """

    __slots__ = ("hooks", "id", "extra_dicts")

    def __init__(self, hooks: dict, hook, *, extra_dict=None) -> None:
        self.hooks = hooks
        self.id = next(_ids)
        hooks[self.id] = hook  # dicts keep insertion order: hooks run in registration order
        self.extra_dicts = (() if extra_dict is None else
                            (extra_dict,) if isinstance(extra_dict, dict) else tuple(extra_dict))

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        for flags in self.extra_dicts:
            flags.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
