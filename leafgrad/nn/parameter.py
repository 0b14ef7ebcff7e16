"""``Parameter`` (a tensor a module trains) and ``Buffer`` (a tensor a module keeps as state)."""
from __future__ import annotations

from leafgrad._factories import empty
from leafgrad._tensor import Tensor, _init

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A Tensor that a :class:`~leafgrad.nn.Module` registers as a parameter when assigned as one
    of its attributes. It shares ``data``'s storage and requires grad by default (seed claim
    C12); ops on a Parameter return plain Tensors.

    Example::

        >>> w = leafgrad.nn.Parameter(leafgrad.zeros(2))
        >>> w.requires_grad, type(w * 2).__name__
        (True, 'Tensor')
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}: wrap "
                            f"it with leafgrad.tensor(...) first")
        # the same storage and version counter as `data` (torch's _make_subclass), but a leaf
        _init(self, data._data, False)
        self._version_counter = data._version_counter
        self.requires_grad = requires_grad

    @Tensor.requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        Tensor.requires_grad.fset(self, value)
        if not value:  # results computed only from frozen parameters say so in backward errors
            self._why_no_grad = "frozen"

    def __deepcopy__(self, memo) -> Parameter:
        # as torch: a copy of the data and the flag; the gradient is not copied
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _BufferMeta(type):
    # ``Buffer(t)`` returns a plain Tensor marked as a buffer; isinstance recognises the mark
    def __instancecheck__(cls, instance) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """A tensor that a module registers as a buffer when assigned as one of its attributes
    (state such as running statistics: saved in ``state_dict`` unless ``persistent=False``,
    converted by ``to()``, but not a parameter). As torch, it is a plain Tensor carrying a
    mark that ``isinstance(t, Buffer)`` reads.

    Example::

        >>> module.running_mean = leafgrad.nn.Buffer(leafgrad.zeros(3))
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:
        if data is None:
            data = empty(0)
        tensor = data.detach().requires_grad_(data.requires_grad)
        tensor.persistent = persistent
        tensor._is_buffer = True
        return tensor
