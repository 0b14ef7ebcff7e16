"""The Tensor: a NumPy array with autograd state (requires_grad, grad, grad_fn, version)."""
from __future__ import annotations

import warnings
import weakref
from typing import Any, Callable, Iterator

import numpy as np

from leafgrad import _dtype
from leafgrad._backend import CPU, get_device
from leafgrad._tensor_str import tensor_repr
from leafgrad.utils.hooks import RemovableHandle

__all__ = ["Tensor", "Size"]


class _Layers:
    """The functions of the layers above the Tensor that its methods call. This module imports
    none of those layers (the Tensor is the bottom of the import graph); each fills in its
    entries when it is imported: ``autograd/views.py`` the view and in-place machinery,
    ``autograd/engine.py`` backward, ``autograd/graph.py`` the leaf node, ``ops`` the dtype cast,
    ``_factories`` the conversion of Python data."""

    refresh_view: Callable  # (view) -> None: the view's grad_fn brought up to date
    apply_inplace: Callable  # (tensor, compute, op_name, others, direct) -> tensor
    mark_views: Callable  # (result, source, op_class, kwargs) -> None, after a view op
    record_dirty_view: Callable  # (view, ctx, output_nr) -> None: mark_dirty on a view
    backward: Callable  # autograd.backward
    AccumulateGrad: type  # the node class of leaves
    cast: Callable  # (tensor, dtype, copy) -> tensor
    from_data: Callable  # (data, numpy dtype, copy) -> array


LAYERS = _Layers()


def warn_volatile() -> None:
    warnings.warn("volatile is deprecated: use `with leafgrad.no_grad():` instead (volatile "
                  "tensors record no graph, like everything computed inside no_grad)",
                  DeprecationWarning, stacklevel=3)


class Size(tuple):
    """A tensor's shape: a tuple of ints, printed as ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64)) if self else 1

    # slicing, concatenating and repeating a Size gives a Size, as torch
    def __getitem__(self, index):
        result = tuple.__getitem__(self, index)
        return Size(result) if isinstance(index, slice) else result

    def __add__(self, other):
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, count):
        return Size(tuple.__mul__(self, count))

    __rmul__ = __mul__


GRAD_OF_NON_LEAF_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead."
)

_NON_LEAF_FLAG_ERROR = "you can only change requires_grad flags of leaf variables."
_NON_LEAF_FLAG_HINT = (" If you want to use a computed variable in a subgraph that doesn't "
                       "require differentiation use var_no_grad = var.detach().")


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    ``Tensor(data)`` follows torch's legacy constructor: a list gives a float tensor and integer
    sizes give an uninitialised one; prefer :func:`leafgrad.tensor` and the other factories.
    """

    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_version_counter",
                 "_why_no_grad", "_grad", "__weakref__", "__dict__")
    # NumPy's binary operators defer to ours (ndarray + tensor gives a tensor), as for torch
    __array_priority__ = 1000
    # Rarely set, so kept out of the slots: class defaults cost nothing per new tensor.
    _base: Tensor | None = None  # the tensor whose storage this view shares
    _view_chain: tuple = ()  # the view ops that make this view from _base
    _view_version: int = 0  # the shared version when this view's grad_fn was last set
    # 'no_grad', 'multi_output' or 'custom_function': how the view was made, when torch then
    # forbids in-place changes that its history would have to follow
    _view_creation: str | None = None
    _hooks: dict | None = None  # leaf hooks: {"grad": {...}, "post": {...}}

    def __init__(self, *args: Any, device=None, dtype=None) -> None:
        np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else \
            _dtype.get_default_dtype().np_dtype
        get_device(device)
        if len(args) == 1 and isinstance(args[0], Size):
            args = tuple(args[0])
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            if any(a < 0 for a in args):
                raise RuntimeError(f"Trying to create tensor with negative dimension "
                                   f"{min(args)}: {list(args)}")
            array = np.empty(tuple(int(a) for a in args), dtype=np_dtype)  # () gives shape (0,)
            if not args:
                array = np.empty((0,), dtype=np_dtype)
        elif len(args) == 1 and isinstance(args[0], Tensor):
            array = args[0]._data  # torch's legacy constructor aliases a tensor, keeping its dtype
        elif len(args) == 1 and (isinstance(args[0], (list, tuple, range, np.ndarray))):
            array = LAYERS.from_data(args[0], np_dtype, copy=True)
        else:
            raise TypeError(f"new(): data must be a sequence (got "
                            f"{', '.join(type(a).__name__ for a in args)}): use Tensor(sizes...) "
                            f"for an uninitialised tensor or leafgrad.tensor(data)")
        _init(self, array, False)

    # -- autograd state ---------------------------------------------------------------------
    @property
    def grad_fn(self):
        """The backward node of the op that made this tensor (None for leaves).

        A view whose base (or another view of it) was modified in place since the view's node
        was recorded gets a new node, replayed from the base's current history, as torch does.
        """
        if self._base is not None:
            LAYERS.refresh_view(self)
        return self._grad_fn

    @property
    def requires_grad(self) -> bool:
        """Whether gradients will be computed for this tensor (contagious through ops)."""
        base = self._base
        if base is not None and self._version_counter[0] != self._view_version:
            return base._requires_grad  # what refreshing its grad_fn would give
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(value).__name__}")
        if self.grad_fn is not None:
            raise RuntimeError(_NON_LEAF_FLAG_ERROR + ("" if value else _NON_LEAF_FLAG_HINT))
        if value and not _dtype.is_differentiable(self._data.dtype):
            raise RuntimeError(f"only Tensors of floating point and complex dtype can require "
                               f"gradients (this tensor is {self.dtype}); convert it with "
                               f".float() first")
        self._requires_grad = value
        if value:
            self._why_no_grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        if requires_grad and self.grad_fn is not None:
            return self  # as torch: a non-leaf already requires grad
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (their ``grad_fn`` is None)."""
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward (leaves and ``retain_grad()`` tensors only)."""
        if self.grad_fn is not None and self._requires_grad and not self.retains_grad \
                and self._grad is None:
            warnings.warn(GRAD_OF_NON_LEAF_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: grad "
                                   f"{list(value.shape)} vs tensor {list(self.shape)}")
            if value.dtype != self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: grad "
                                   f"{value.dtype} vs tensor {self.dtype}")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def retains_grad(self) -> bool:
        """True when ``retain_grad()`` was called on this non-leaf tensor."""
        fn = self.grad_fn
        if fn is None or fn._retained is None:
            return False
        ref = fn._retained.get(self._output_nr)
        return ref is not None and ref() is self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during backward (no-op for leaves)."""
        fn = self.grad_fn
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if fn is None:
            return
        if fn._retained is None:
            fn._retained = {}
            fn._plain = False  # the engine's general path fills retained grads
        fn._retained[self._output_nr] = weakref.ref(self)

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version(self) -> int:
        """How many in-place modifications this tensor's storage has seen."""
        return self._version_counter[0]

    @property
    def volatile(self) -> bool:
        """True for tensors made with ``Variable(..., volatile=True)`` and results computed from
        them: they record no graph (the modern spelling is ``with no_grad():``)."""
        if self._base is not None:
            LAYERS.refresh_view(self)  # a view of a base made volatile by an in-place op
        return self._why_no_grad == "volatile"

    @volatile.setter
    def volatile(self, value: bool) -> None:
        warn_volatile()
        if value:
            if self.grad_fn is not None:
                raise RuntimeError("volatile can only be set on leaf tensors")
            self._requires_grad = False
            self._why_no_grad = "volatile"
        elif self._why_no_grad == "volatile":
            self._why_no_grad = None

    @property
    def data(self) -> Tensor:
        """The same storage as an untracked tensor (no history, its own version counter)."""
        return _wrap(self._data, False)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    def detach(self) -> Tensor:
        """A new leaf on the same storage with no history; backpropagation stops there."""
        out = _wrap(self._data, False)
        out._version_counter = self._version_counter
        out._why_no_grad = "detach" if self.requires_grad else self._why_no_grad
        return out

    def detach_(self) -> Tensor:
        """Detach this tensor from its graph in place: it becomes a leaf that needs no grad."""
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead: this tensor "
                               "is a view of another tensor that requires grad.")
        if self._requires_grad:
            self._why_no_grad = "detach"
        self._grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        return self

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None, *, retain_variables: bool | None = None
                 ) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the graph's leaves.

        ``retain_variables`` is the seed's older name for ``retain_graph`` (deprecated).
        """
        LAYERS.backward((self,), None if gradient is None else (gradient,), retain_graph,
                        create_graph, inputs=inputs, retain_variables=retain_variables,
                        _from_tensor=True)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]):
        """Call ``hook(grad)`` whenever the gradient for this tensor is computed; a returned
        tensor replaces the gradient. Hooks run in registration order."""
        fn = self.grad_fn
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if fn is not None:
            return fn._register_tensor_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = {"grad": {}, "post": {}}
        return RemovableHandle(self._hooks["grad"], hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]):
        """Call ``hook(tensor)`` after the gradient is accumulated into this leaf's ``.grad``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = {"grad": {}, "post": {}}
        return RemovableHandle(self._hooks["post"], hook)

    def _grad_accumulator(self):
        """The AccumulateGrad node of this leaf, shared by all ops that use it while alive."""
        ref = self.__dict__.get("_accumulator")
        node = ref() if ref is not None else None
        if node is None:
            node = LAYERS.AccumulateGrad(self)
            self.__dict__["_accumulator"] = weakref.ref(node)
        return node

    # -- metadata ---------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_normalize_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def is_floating_point(self) -> bool:
        return _dtype.is_floating_point(self._data.dtype)

    def is_complex(self) -> bool:
        return _dtype.is_complex(self._data.dtype)

    def element_size(self) -> int:
        return self._data.itemsize

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_normalize_dim(dim, self._data.ndim)]

    def untyped_storage_id(self) -> int:
        """An id shared by tensors viewing the same memory (for tests of storage sharing)."""
        root = self._data
        while root.base is not None:
            root = root.base
        return id(root)

    # -- conversion -------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The NumPy array sharing this tensor's memory (refuses tensors that require grad)."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data.copy() if force else self._data

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               f"Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self._scalar_value())

    def __int__(self) -> int:
        return int(self._scalar_value())

    def _scalar_value(self):
        if self._data.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                             f"(this tensor has shape {list(self._data.shape)})")
        return self._data.reshape(()).item()

    def __index__(self) -> int:
        if not _dtype.is_integral(self._data.dtype, include_bool=True) or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self._data.reshape(()).item())

    def __format__(self, spec: str) -> str:
        # as torch: a 0-dim tensor formats as its value ('{:+.2f}'), others only with no spec
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string passed to Tensor.__format__: only "
                            f"0-dim tensors take a format spec (this one has shape "
                            f"{list(self._data.shape)}); format t.item() or t.tolist()")
        return repr(self)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return tensor_repr(self)

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        if id(self) in memo:
            return memo[id(self)]
        out = type(self).__new__(type(self))
        # a new storage in the same layout: the copy is no view and shares no version counter
        _init(out, self._data.copy(order="K"), self._requires_grad)
        memo[id(self)] = out
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        # as torch, user attributes are deep-copied; autograd state (the view's base, hooks,
        # the grad accumulator) belongs to the original only
        import copy
        for key, value in self.__dict__.items():
            if key not in _AUTOGRAD_ATTRIBUTES:
                out.__dict__[key] = copy.deepcopy(value, memo)
        return out

    def __copy__(self):
        """``copy.copy(tensor)``, as torch's: a new leaf on the same storage (writes show in
        both) with the same ``requires_grad``, no grad, no history and its own version counter;
        user attributes are copied shallowly, the hooks are not."""
        out = type(self).__new__(type(self))
        _init(out, self._data, self._requires_grad)
        for key, value in self.__dict__.items():
            if key not in _AUTOGRAD_ATTRIBUTES:
                out.__dict__[key] = value
        return out

    def __reduce_ex__(self, protocol):
        raise TypeError("leafgrad tensors are not pickled: use leafgrad.save(), which never "
                        "executes code when loading")

    # -- devices and dtypes -----------------------------------------------------------------
    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype and/or device: ``to(dtype)``, ``to(device)``, ``to(other)``."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, _dtype.dtype) or arg in (float, int, bool):
                dtype = arg
            else:
                device = arg
        get_device(device)
        if dtype is None:
            return self.clone() if copy else self
        return LAYERS.cast(self, dtype, copy=copy)

    def cuda(self, device=None) -> Tensor:
        get_device("cuda" if device is None else device)
        return self

    def cpu(self) -> Tensor:
        return self

    def type(self, dtype=None):
        """The type name (``'torch.FloatTensor'``), or a copy converted to ``dtype`` (a dtype or
        such a name)."""
        if dtype is None:
            return _TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, str):
            names = {v: k for k, v in _TYPE_NAMES.items()}
            if dtype not in names:
                raise ValueError(f"invalid type: {dtype!r} (expected one of "
                                 f"{', '.join(sorted(names))})")
            dtype = getattr(_dtype, names[dtype] if names[dtype] != "bool" else "bool_")
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def short(self) -> Tensor:
        return self.to(_dtype.int16)

    def char(self) -> Tensor:
        return self.to(_dtype.int8)

    def byte(self) -> Tensor:
        return self.to(_dtype.uint8)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool_)

    # -- in place ---------------------------------------------------------------------------
    def _apply_inplace(self, compute: Callable[[Tensor], Tensor], op_name: str,
                       others: tuple = (), direct: Callable | None = None) -> Tensor:
        """Run ``compute`` (an out-of-place op) and write its result into this tensor's storage,
        recording it in the graph in this tensor's place (see ``autograd/views.py``)."""
        return LAYERS.apply_inplace(self, compute, op_name, others, direct)


# Tensor.__dict__ entries that tie a tensor to its graph or storage: never deep-copied
_AUTOGRAD_ATTRIBUTES = frozenset({"_accumulator", "_base", "_view_chain", "_view_version",
                                  "_view_creation", "_hooks"})


_TYPE_NAMES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
               "float16": "torch.HalfTensor", "int64": "torch.LongTensor",
               "int32": "torch.IntTensor", "int16": "torch.ShortTensor", "int8": "torch.CharTensor",
               "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor"}


def _normalize_dim(dim: int, ndim: int) -> int:
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-bound}, {bound - 1}], but got {dim})")
    return dim % bound


def _init(tensor: Tensor, array, requires_grad: bool) -> None:
    tensor._data = array
    tensor._requires_grad = requires_grad
    tensor._grad_fn = None
    tensor._output_nr = 0
    tensor._version_counter = [0]
    tensor._why_no_grad = None
    tensor._grad = None


_new = object.__new__


def _wrap(array, requires_grad: bool) -> Tensor:
    """A new Tensor on ``array`` (no copy): the fast path every op result takes."""
    if type(array) is not np.ndarray:
        # NumPy turns 0-d results into scalars (np.float32), which have no writable memory,
        # no __array__ round trip and no in-place ops: keep every tensor backed by an ndarray.
        array = np.asarray(array)
    tensor = _new(Tensor)
    tensor._data = array
    tensor._requires_grad = requires_grad
    tensor._grad_fn = None
    tensor._output_nr = 0
    tensor._version_counter = [0]
    tensor._why_no_grad = None
    tensor._grad = None
    return tensor


def zeros_like_array(shape, np_dtype) -> Tensor:
    return _wrap(np.zeros(shape, dtype=np_dtype), False)
