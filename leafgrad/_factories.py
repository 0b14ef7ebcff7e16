"""Tensor factories with torch's signatures, and random number generation.

Arrays made from a shape alone come from the array module of the requested device
(``array_module(device)``); those made from host data (Python lists, NumPy arrays, ranges,
random draws, which NumPy computes) move to the device once, in ``_finish``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from leafgrad import _dtype
from leafgrad._backend import CPU, array_module, get_device, is_array, is_scalar, to_host, xp
from leafgrad._tensor import LAYERS, Tensor, _wrap

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "arange", "linspace", "eye", "rand", "randn",
           "randint", "randperm", "normal", "bernoulli", "manual_seed", "seed", "initial_seed",
           "Generator", "rand_like", "randn_like", "randint_like", "get_rng_state",
           "set_rng_state", "default_generator", "logspace", "scalar_tensor"]


def _expect_tensor(value, op_name: str, arg_name: str) -> None:
    """:func:`leafgrad.ops._checks.expect_tensor`, imported late: leafgrad.ops imports this
    module."""
    from leafgrad.ops._checks import expect_tensor
    expect_tensor(value, op_name, arg_name)


def _module(device):
    """The array module of ``device`` (checked; None is the CPU)."""
    return array_module(get_device(device))


def _finish(array, requires_grad: bool, device) -> Tensor:
    """The tensor of ``array`` on ``device`` (None: where ``array`` is)."""
    if device is not None:
        target = get_device(device)
        array = to_host(array) if target is CPU else array_module(target).asarray(array)
    out = _wrap(array, False)
    if requires_grad:
        out.requires_grad = True  # validates the dtype
    return out


# -- building arrays from Python data ------------------------------------------------------
_PY_SCALARS = (float, int, bool)
_INT64 = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)


def _is_sequence(x) -> bool:
    return isinstance(x, (list, tuple, range)) or (
        isinstance(x, Sequence) and not isinstance(x, (str, bytes)))


def _scalar_dtype(x) -> np.dtype:
    """The dtype torch infers for one element: Python floats take the default dtype, ints
    int64; NumPy scalars and one-element tensors keep their own dtype."""
    kind = type(x)
    if kind is float:
        return _dtype.get_default_dtype().np_dtype
    if kind is int:
        return _INT64
    if kind is bool:
        return _BOOL
    if isinstance(x, Tensor):
        if x._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars (a "
                             f"tensor of shape {list(x.shape)} was found inside the data)")
        return x._data.dtype
    if is_scalar(x):
        return _supported(x.dtype)
    if isinstance(x, (bool, np.bool_)):
        return _BOOL
    if isinstance(x, int):
        return _INT64
    if isinstance(x, float):
        return _dtype.get_default_dtype().np_dtype
    if isinstance(x, complex):
        raise TypeError("complex numbers are not supported: leafgrad tensors hold float, int "
                        "and bool values")
    raise TypeError(f"Could not infer dtype of {type(x).__name__}: tensor data must be numbers, "
                    f"bools, nested lists/tuples of them, NumPy arrays or tensors")


def _supported(np_dtype) -> np.dtype:
    np_dtype = np.dtype(np_dtype)
    _dtype.from_numpy_dtype(np_dtype.newbyteorder("="))  # TypeError naming unsupported dtypes
    if not np_dtype.isnative:
        raise ValueError(f"given numpy array has byte order different from the native byte "
                         f"order ({np_dtype.str}): convert it with "
                         f"array.astype(array.dtype.newbyteorder('='))")
    return np_dtype


def _shape_of(data) -> list:
    """The shape read along the first elements; _scan then checks every element against it."""
    shape = []
    while _is_sequence(data):
        shape.append(len(data))
        if not data:
            break
        data = data[0]
    if is_array(data):
        shape.extend(data.shape)
    return shape


def _scan(data, shape: list, depth: int, dtypes: set) -> bool:
    """Check that ``data`` is rectangular with ``shape`` and collect the element dtypes.
    Returns True when a tensor element must be replaced by its value before NumPy sees it."""
    if is_array(data):
        if list(data.shape) != shape[depth:]:
            raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got "
                             f"an array of shape {list(data.shape)})")
        dtypes.add(_supported(data.dtype))
        return False
    if not _is_sequence(data):
        raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got "
                         f"{type(data).__name__}): nested lists must be rectangular")
    if len(data) != shape[depth]:
        raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got "
                         f"{len(data)}): nested lists must be rectangular")
    if depth + 1 < len(shape):
        has_tensor = False
        for item in data:
            has_tensor |= _scan(item, shape, depth + 1, dtypes)
        return has_tensor
    kinds = set(map(type, data))
    if kinds.issubset(_PY_SCALARS):  # the common case, without a Python-level loop
        dtypes.update(_scalar_dtype(kind()) for kind in kinds)
        return False
    has_tensor = False
    for item in data:
        if _is_sequence(item) or is_array(item):
            raise ValueError(f"expected a number at dim {depth + 1}, got a sequence: nested "
                             f"lists must be rectangular")
        dtypes.add(_scalar_dtype(item))
        has_tensor |= isinstance(item, Tensor)
    return has_tensor


def _values(data):
    """``data`` with tensors replaced by their values (NumPy cannot read our tensors)."""
    if isinstance(data, Tensor):
        return data._data.reshape(())
    if _is_sequence(data):
        return [_values(x) for x in data]
    return data


def _infer(data) -> tuple:
    """(data NumPy can read, the dtype torch would give it) for any accepted input."""
    if isinstance(data, Tensor):
        return data._data, data._data.dtype
    if is_array(data):
        return data, _supported(data.dtype)
    if not _is_sequence(data):
        return (data._data if isinstance(data, Tensor) else data), _scalar_dtype(data)
    shape = _shape_of(data)
    dtypes: set = set()
    if _scan(data, shape, 0, dtypes):
        data = _values(data)
    result = None
    for d in dtypes:
        result = d if result is None else _dtype.promote_types(result, d)
    return data, (result if result is not None else _dtype.get_default_dtype().np_dtype)


def _from_data(data, dtype, copy: bool) -> np.ndarray:
    source, inferred = _infer(data)
    target = _dtype.to_numpy_dtype(dtype) if dtype is not None else inferred
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # 1e40 -> inf in float32, as torch
            return np.array(source, dtype=target, copy=copy or None)
    except OverflowError:
        name = _dtype.from_numpy_dtype(target).name
        raise RuntimeError(f"value cannot be converted to type {name} without overflow") from None


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays or tensors).

    The dtype is inferred as torch does: Python floats give the default dtype (float32), ints
    int64, bools bool; NumPy arrays and scalars keep theirs; mixed lists promote.

    Example::

        >>> leafgrad.tensor([1.0, 2.0], requires_grad=True)
        tensor([1., 2.], requires_grad=True)
    """
    get_device(device)
    return _finish(_from_data(data, dtype, copy=True), requires_grad, device)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-dim tensor; like torch, of the default float dtype unless ``dtype`` is given."""
    if isinstance(value, Tensor):
        value = value.item()
    return tensor(value, dtype=dtype or _dtype.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with a tensor or array of the right dtype.

    Example::

        >>> array = numpy.zeros(2, dtype=numpy.float32)
        >>> t = leafgrad.as_tensor(array)
        >>> array[0] = 5.0
        >>> t
        tensor([5., 0.])
    """
    get_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    return _finish(_from_data(data, dtype, copy=False), False, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``: writes to one show in the other.

    Example::

        >>> array = numpy.array([1, 2])
        >>> t = leafgrad.from_numpy(array)
        >>> t[0] = 7
        >>> array
        array([7, 2])
    """
    if not isinstance(array, np.ndarray):  # NumPy's own arrays only, as torch.from_numpy
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _supported(array.dtype)
    return _wrap(array, False)


def _size(args: tuple, size=None, name: str = "size") -> tuple:
    """The shape from ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``."""
    if size is not None:
        if args:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        args = (size,)
    if not args:
        raise TypeError(f"{name}() missing 1 required positional argument: 'size'")
    if len(args) == 1 and _is_sequence(args[0]):
        args = tuple(args[0])
    dims = []
    for position, s in enumerate(args):
        if isinstance(s, Tensor) and s._data.size == 1 and _dtype.is_integral(s._data.dtype):
            s = s.item()
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{name}(): argument 'size' must be a tuple of ints, but found "
                            f"element of type {type(s).__name__} at pos {position}")
        dims.append(int(s))
    if any(d < 0 for d in dims):
        raise RuntimeError(f"{name}(): Trying to create tensor with negative dimension "
                           f"{min(dims)}: {dims}")
    return tuple(dims)


def _float_dtype(dtype) -> np.dtype:
    return _dtype.to_numpy_dtype(dtype) if dtype is not None else \
        _dtype.get_default_dtype().np_dtype


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False, **kwargs) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    shape = _size(size, kwargs.pop("size", None), "zeros")
    _no_extra("zeros", kwargs, out)
    return _finish(_module(device).zeros(shape, dtype=_float_dtype(dtype)), requires_grad,
                   device)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False, **kwargs) -> Tensor:
    """A tensor of ones, shaped as :func:`zeros`."""
    shape = _size(size, kwargs.pop("size", None), "ones")
    _no_extra("ones", kwargs, out)
    return _finish(_module(device).ones(shape, dtype=_float_dtype(dtype)), requires_grad,
                   device)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False, memory_format=None, **kwargs) -> Tensor:
    """An uninitialised tensor (its values are whatever the memory held)."""
    shape = _size(size, kwargs.pop("size", None), "empty")
    _no_extra("empty", kwargs, out)
    return _finish(_module(device).empty(shape, dtype=_float_dtype(dtype)), requires_grad,
                   device)


def _no_extra(name: str, kwargs: dict, out) -> None:
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if out is not None:
        raise TypeError(f"{name}(): out= is not supported by leafgrad; assign the result instead")


def _fill_value(value):
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise RuntimeError(f"fill_value must be a number or a one-element tensor, got a "
                               f"tensor of shape {list(value.shape)}")
        return value.item()
    return value


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype is inferred from the value, as torch
    (``full((2,), 1)`` is int64, ``full((2,), 1.5)`` float32, ``full((2,), True)`` bool)."""
    shape = _size((size,), None, "full")
    _no_extra("full", {}, out)
    fill_value = _fill_value(fill_value)
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else _scalar_dtype(fill_value)
    return _finish(_module(device).full(shape, fill_value, dtype=np_dtype), requires_grad,
                   device)


def _like(input: Tensor, dtype) -> np.dtype:
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor as input, got {type(input).__name__}")
    return _dtype.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    """Zeros with ``input``'s shape (and dtype unless ``dtype`` is given)."""
    np_dtype = _like(input, dtype)
    return _finish(xp.zeros(input._data.shape, np_dtype, like=input._data), requires_grad,
                   device)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """Ones with ``input``'s shape (and dtype unless ``dtype`` is given)."""
    np_dtype = _like(input, dtype)
    return _finish(xp.ones(input._data.shape, np_dtype, like=input._data), requires_grad,
                   device)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    """An uninitialised tensor with ``input``'s shape (and dtype unless ``dtype`` is given)."""
    np_dtype = _like(input, dtype)
    return _finish(xp.empty(input._data.shape, np_dtype, like=input._data), requires_grad,
                   device)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """``fill_value`` in ``input``'s shape and dtype (a float fill is truncated for ints)."""
    np_dtype = _like(input, dtype)
    return _finish(xp.full(input._data.shape, _fill_value(fill_value), np_dtype,
                           like=input._data), requires_grad, device)


def _number(value, name: str):
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise RuntimeError(f"{name} must be a number or a one-element tensor, got a tensor "
                               f"of shape {list(value.shape)}")
        return value.item()
    if is_scalar(value):
        return value.item()
    if not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return value


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) every ``step``: int64 when all arguments are
    ints, else the default float dtype; ``ceil((end - start) / step)`` elements, as torch.

    Example::

        >>> leafgrad.arange(0, 1, 0.25)
        tensor([0.0000, 0.2500, 0.5000, 0.7500])
    """
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, name) for v, name in
                        ((start, "start"), (end, "end"), (step, "step")))
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = _dtype.get_default_dtype() if is_float else _dtype.int64
    np_dtype = _dtype.to_numpy_dtype(dtype)
    if not _dtype.is_floating_point(np_dtype):
        # torch first casts the bounds and the step to the integer dtype (truncating)
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    count = math.ceil((end - start) / step)  # computed in double, as torch
    if _dtype.is_floating_point(np_dtype):
        # torch computes start + i * step in float64 (float32 for half), then rounds once
        accumulate = np.float32 if np_dtype == np.float16 else np.float64
        array = np.asarray(start, accumulate) + np.arange(count, dtype=accumulate) * \
            np.asarray(step, accumulate)
    else:
        array = start + np.arange(count, dtype=np.int64) * step
    return _finish(array.astype(np_dtype), requires_grad, device)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    Computed as torch's kernel: in the result dtype, from the start for the first half and
    from the end for the second, so the values match torch's bit for bit.

    Example::

        >>> leafgrad.linspace(0, 1, 5)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    start, end = _number(start, "start"), _number(end, "end")
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    np_dtype = _float_dtype(dtype)
    if _dtype.is_bool(np_dtype):
        raise RuntimeError("linspace: bool is not a supported dtype")
    # integer results step in float64 from start and end cast to the integer dtype
    compute = np.dtype(np.float64) if _dtype.is_integral(np_dtype) else np_dtype
    first = np.asarray(np.asarray(start).astype(np_dtype), compute)
    last = np.asarray(np.asarray(end).astype(np_dtype), compute)
    if steps <= 1:
        return _finish(np.full(steps, first, dtype=np_dtype), requires_grad, device)
    with np.errstate(over="ignore", invalid="ignore"):
        step = (last - first) / np.asarray(steps - 1, compute)
        index = np.arange(steps)
        halfway = steps // 2
        from_start = first + step * index[:halfway].astype(compute)
        from_end = last - step * (steps - index[halfway:] - 1).astype(compute)
        array = np.concatenate((from_start, from_end)).astype(np_dtype)
    return _finish(array, requires_grad, device)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None,
             device=None, requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    start, end = _number(start, "start"), _number(end, "end")
    if steps < 0:
        raise RuntimeError(f"logspace: number of steps must be non-negative, got {steps}")
    return _finish(np.logspace(start, end, steps, base=base).astype(_float_dtype(dtype)),
                   requires_grad, device)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The ``n`` by ``m`` (default ``n``) identity matrix."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, (int, np.integer))):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(value).__name__}")
        if value is not None and value < 0:
            raise RuntimeError(f"eye: {name} must be greater or equal to 0, got {value}")
    return _finish(_module(device).eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)


# -- random numbers ------------------------------------------------------------------------
class Generator:
    """A seedable source of random numbers (NumPy's PCG64); torch's streams are not
    reproduced, but the same seed always gives the same numbers in leafgrad."""

    def __init__(self, device="cpu") -> None:
        get_device(device)
        self._seed = 67280421310721
        self.bit_generator = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        self._seed = seed
        self.bit_generator = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)
        return self

    def seed(self) -> int:
        seed = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The generator state as a uint8 tensor (JSON of NumPy's state)."""
        import json
        state = json.dumps(self.bit_generator.bit_generator.state).encode()
        return _wrap(np.frombuffer(state, dtype=np.uint8).copy(), False)

    def set_state(self, state: Tensor) -> Generator:
        import json
        self.bit_generator.bit_generator.state = json.loads(bytes(state._data).decode())
        return self

    @property
    def device(self):
        return get_device("cpu")


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (every random factory without ``generator=`` uses it)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(state: Tensor) -> None:
    _expect_tensor(state, "set_rng_state", "state")
    default_generator.set_state(state)


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).bit_generator


def _random_float_dtype(dtype, op: str) -> np.dtype:
    np_dtype = _float_dtype(dtype)
    if not _dtype.is_floating_point(np_dtype):
        raise NotImplementedError(f"\"{op}\" not implemented for "
                                  f"'{_dtype.from_numpy_dtype(np_dtype)}': pass a floating "
                                  f"dtype (float32, float64 or float16)")
    return np_dtype


def _sample_dtype(np_dtype: np.dtype) -> np.dtype:
    # NumPy samples float32 and float64 directly; float16 is drawn in float64 and rounded
    return np_dtype if np_dtype in (np.float32, np.float64) else np.dtype(np.float64)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False, **kwargs) -> Tensor:
    """Uniform samples in [0, 1).

    Example::

        >>> leafgrad.manual_seed(0)
        >>> leafgrad.rand(2, 3).shape
        torch.Size([2, 3])
    """
    shape = _size(size, kwargs.pop("size", None), "rand")
    _no_extra("rand", kwargs, out)
    np_dtype = _random_float_dtype(dtype, "rand")
    get_device(device)
    array = _rng(generator).random(shape, dtype=_sample_dtype(np_dtype))
    return _finish(array.astype(np_dtype, copy=False), requires_grad, device)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False, **kwargs) -> Tensor:
    """Standard normal samples."""
    shape = _size(size, kwargs.pop("size", None), "randn")
    _no_extra("randn", kwargs, out)
    np_dtype = _random_float_dtype(dtype, "randn")
    get_device(device)
    array = _rng(generator).standard_normal(shape, dtype=_sample_dtype(np_dtype))
    return _finish(array.astype(np_dtype, copy=False), requires_grad, device)


def randint(low, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Integers in [low, high); ``randint(high, size)`` starts at 0. int64 by default."""
    if size is None:
        if high is None:
            raise TypeError("randint() missing required argument 'size' (call it as "
                            "randint(high, size) or randint(low, high, size))")
        low, high, size = 0, low, high
    elif high is None:
        raise TypeError("randint() missing required argument 'high'")
    low, high = _number(low, "low"), _number(high, "high")
    shape = _size((size,) if isinstance(size, (int, np.integer)) else (tuple(size),), None,
                  "randint")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else _INT64
    get_device(device)
    array = _rng(generator).integers(math.ceil(low), math.ceil(high), shape)
    return _finish(array.astype(np_dtype), requires_grad, device)


def randperm(n: int, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (int64 by default)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else _INT64
    get_device(device)
    return _finish(_rng(generator).permutation(n).astype(np_dtype), requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad: bool = False) -> Tensor:
    """Normal samples: ``normal(mean, std)`` with tensor means and/or stds (broadcast), or
    ``normal(mean, std, size)`` with numbers. The dtype is that of the tensor argument."""
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if tensors and size is not None:
        raise TypeError("normal(): size= goes with number mean and std only; with a tensor "
                        "mean or std the result takes the broadcast shape")
    if not tensors and size is None:
        raise TypeError("normal(): with number mean and std, pass size= as well")
    mean_data = mean._data if isinstance(mean, Tensor) else _number(mean, "mean")
    std_data = std._data if isinstance(std, Tensor) else _number(std, "std")
    if np.any(np.asarray(std_data) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std "
                           f"{np.min(std_data).item()}")
    if tensors:
        shape = np.broadcast_shapes(np.shape(mean_data), np.shape(std_data))
        np_dtype = np.result_type(*[t._data.dtype for t in tensors]) if dtype is None else \
            _dtype.to_numpy_dtype(dtype)
    else:
        shape = _size((size,) if isinstance(size, (int, np.integer)) else tuple(size), None,
                      "normal")
        np_dtype = _float_dtype(dtype)
    if not _dtype.is_floating_point(np_dtype):
        raise NotImplementedError(f"normal: \"normal_kernel_cpu\" not implemented for "
                                  f"'{_dtype.from_numpy_dtype(np_dtype)}': use floating "
                                  f"mean and std")
    get_device(device)
    array = _rng(generator).standard_normal(shape) * std_data + mean_data
    return _finish(np.asarray(array).astype(np_dtype), requires_grad, device)


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples, 1 with probability ``input`` (or ``p``), in ``input``'s floating dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if not _dtype.is_floating_point(input._data.dtype):
        raise NotImplementedError(f"bernoulli: not implemented for '{input.dtype}': the "
                                  f"probabilities must be a floating tensor")
    probs = input._data if p is None else np.full(input._data.shape, _number(p, "p"))
    if np.any(~((probs >= 0) & (probs <= 1))):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1] (found "
                           f"{probs[~((probs >= 0) & (probs <= 1))].ravel()[0].item()})")
    draws = _rng(generator).random(input._data.shape) < probs
    return _wrap(draws.astype(input._data.dtype), False)


def rand_like(input: Tensor, *, dtype=None, layout=None, device=None, generator=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """:func:`rand` with ``input``'s shape and dtype."""
    _expect_tensor(input, "rand_like", "input")
    return rand(input._data.shape, generator=generator, dtype=dtype or input.dtype,
                device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, layout=None, device=None, generator=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    """:func:`randn` with ``input``'s shape and dtype."""
    _expect_tensor(input, "randn_like", "input")
    return randn(input._data.shape, generator=generator, dtype=dtype or input.dtype,
                 device=device, requires_grad=requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, layout=None, device=None,
                 generator=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    """:func:`randint` with ``input``'s shape and dtype: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    _expect_tensor(input, "randint_like", "input")
    if high is None:
        low, high = 0, low
    return randint(low, high, input._data.shape, generator=generator,
                   dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


LAYERS.from_data = _from_data  # the legacy constructor Tensor([...]) converts with it
