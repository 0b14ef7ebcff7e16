"""``Variable``: the pre-0.4 wrapper the seed uses; it now returns a plain Tensor."""
from __future__ import annotations

from leafgrad._factories import tensor
from leafgrad._tensor import Tensor, warn_volatile

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False, volatile=False)`` returns a leaf Tensor on ``data``.

    ``volatile=True`` (seed claim C4) gives a tensor that does not require grad and makes every
    result computed from it volatile too, so no graph is built; it warns that ``no_grad`` is the
    modern spelling.
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        if data is None:
            data = []
        # as torch: a new leaf sharing the data's storage; ``data`` itself is left unchanged
        result = data.detach() if isinstance(data, Tensor) else tensor(data)
        if volatile:
            warn_volatile()
            result._requires_grad = False
            result._why_no_grad = "volatile"
            return result
        if requires_grad:
            result.requires_grad = True
        return result
