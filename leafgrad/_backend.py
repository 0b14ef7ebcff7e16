"""The per-device array module: the only place in the library's core that names NumPy.

``ops/``, ``autograd/``, ``optim/`` and ``nn/`` reach arrays through this module only (a test
scans them for direct NumPy use):

- ``xp`` is the array module the ops call (``xp.exp(a)``, ``xp.matmul(a, b)``). Functions of
  ``xp`` called on another library's arrays dispatch to that library through NumPy's
  ``__array_function__``/``__array_ufunc__`` protocols, so derivative rules stay as they are.
- ``is_array(x)`` and ``is_scalar(x)`` are the type checks (never ``isinstance(x, np.ndarray)``).
- An array made from a shape alone is made like an existing one: ``xp.zeros(shape, dtype=...,
  like=other)`` (also ``ones``, ``empty``, ``full``, ``arange``, ``eye``, ``identity``,
  ``tri``), or with ``zeros``/``empty``/``full`` below, so that it lands on the device of the
  data it goes with. ``xp.linspace`` takes no ``like=``: build it from ``xp.arange(n, like=)``.
  Code outside those four packages that builds host data (factories from Python lists, random
  draws, files) uses NumPy and moves the result with ``array_module(device)``.
- ``to_host(a)`` is a NumPy array with ``a``'s values (``a`` itself on the CPU): what printing,
  saving and comparing read.

What a second array module (CuPy, say, registered in ``_MODULES`` under its device type) must
provide:

1. NumPy's array API as functions of the module: ufuncs with ``out=`` and ``where=``, reductions
   with ``axis``/``keepdims``/``dtype``, ``matmul``/``einsum``/``tensordot``, ``take_along_axis``,
   ``put_along_axis``, ``add.at``, ``lib.stride_tricks.as_strided``/``sliding_window_view``,
   ``errstate``, ``broadcast_to``/``broadcast_shapes``, ``copyto``, ``may_share_memory``.
2. The ``__array_function__``/``__array_ufunc__`` protocols on its array type, and ``like=`` on
   the shape-only creators.
3. Arrays with NumPy's attributes: ``shape``, ``dtype`` (NumPy dtypes), ``strides``, ``flags``,
   ``base``, ``ndim``, ``size``, ``itemsize``, ``T``; ``astype(dtype, copy=)``, ``reshape``,
   ``copy(order=)``.
4. Its array type in ``_ARRAY_TYPES`` and its scalar type (if any) in ``_SCALAR_TYPES`` below,
   and its host copy (``cupy.asnumpy``) in ``_TO_HOST`` under its array type, for printing and
   saving.

The dtypes stay NumPy's (``a.dtype`` is a ``numpy.dtype``), so ``leafgrad._dtype`` and its
predicates (``is_floating_point(a.dtype)``...) serve every backend.
"""
from __future__ import annotations

import numpy

__all__ = ["device", "CPU", "array_module", "get_device", "xp", "is_array", "is_scalar",
           "zeros", "empty", "full", "to_host", "ndarray"]


class device:
    """A device, spelled as in torch: ``device('cpu')``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | device = "cpu", index: int | None = None) -> None:
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string or a device, got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if idx:
            index = int(idx)
        if kind not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps, meta device type at start of "
                               f"device string: {spec}")
        self.type = kind
        self.index = index

    def __eq__(self, other) -> bool:
        # as torch, a device never equals a string: compare with device('cpu') or .type
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")
_MODULES = {"cpu": numpy}


def get_device(spec) -> device:
    """Check that ``spec`` names an installed device and return it."""
    if spec is None:
        return CPU
    dev = spec if isinstance(spec, device) else device(spec)
    if dev.type not in _MODULES:
        raise RuntimeError(
            f"device '{dev}' is not available: leafgrad has no {dev.type} array backend installed "
            "(only 'cpu' is). Keep tensors on the CPU or install a GPU backend."
        )
    return CPU if dev.type == "cpu" else dev


def array_module(dev: device = CPU):
    """The NumPy-like module that holds arrays for ``dev``."""
    return _MODULES[dev.type]


xp = numpy  # the array module the ops call (see the module docstring)
ndarray = numpy.ndarray  # the CPU array type (exact-type checks on hot paths: `type(a) is ndarray`)
# every installed backend's array type and scalar type
_ARRAY_TYPES: tuple = (numpy.ndarray,)
_SCALAR_TYPES: tuple = (numpy.generic,)
# array type -> a function returning a NumPy copy, for each backend other than NumPy
_TO_HOST: dict = {}


def is_array(value) -> bool:
    """Whether ``value`` is an array of an installed backend (not a Tensor, not a number)."""
    return isinstance(value, _ARRAY_TYPES)


def is_scalar(value) -> bool:
    """Whether ``value`` is an array library's scalar (``numpy.float32(1)``...)."""
    return isinstance(value, _SCALAR_TYPES)


def zeros(shape, dtype, like):
    """Zeros of ``shape`` and ``dtype`` on the device of the array ``like``."""
    return xp.zeros(shape, dtype=dtype, like=like)


def empty(shape, dtype, like):
    """An uninitialised array of ``shape`` and ``dtype`` on the device of ``like``."""
    return xp.empty(shape, dtype=dtype, like=like)


def full(shape, value, dtype, like):
    """An array of ``shape`` filled with ``value``, on the device of ``like``."""
    return xp.full(shape, value, dtype=dtype, like=like)


def to_host(array) -> numpy.ndarray:
    """A NumPy array with the values of ``array``: ``array`` itself when it is one already (no
    copy), a host copy for another backend's array."""
    if isinstance(array, numpy.ndarray):
        return array
    try:
        return _TO_HOST[type(array)](array)
    except KeyError:
        raise TypeError(f"to_host expects an array of an installed backend, got "
                        f"{type(array).__name__}") from None
