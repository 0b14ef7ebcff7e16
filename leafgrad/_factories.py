"""Tensor factories with torch's signatures, and random number generation."""
from __future__ import annotations

import numpy as np

from leafgrad import _dtype
from leafgrad._backend import get_device
from leafgrad._tensor import Tensor, _wrap

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "arange", "linspace", "eye", "rand", "randn",
           "randint", "randperm", "normal", "bernoulli", "manual_seed", "seed", "initial_seed",
           "Generator", "rand_like", "randn_like", "randint_like", "get_rng_state",
           "set_rng_state", "default_generator", "logspace", "scalar_tensor"]


def _finish(array: np.ndarray, requires_grad: bool, device) -> Tensor:
    get_device(device)
    out = _wrap(array, False)
    if requires_grad:
        out.requires_grad = True  # validates the dtype
    return out


def _infer_dtype(data) -> np.dtype:
    """torch's inference: Python floats give the default float dtype, ints int64, bools bool."""
    array = np.asarray(data)
    kind = array.dtype.kind
    if kind == "f":
        return array.dtype if isinstance(data, np.ndarray) else \
            _dtype.get_default_dtype().np_dtype
    if kind in "iu":
        return array.dtype if isinstance(data, np.ndarray) else np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"can't build a tensor from data of type {array.dtype} "
                    f"({type(data).__name__}): expected numbers, bools, nested sequences of "
                    f"them, or an array")


def _from_data(data, dtype, copy: bool) -> np.ndarray:
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        array = np.array([x._data if isinstance(x, Tensor) else x for x in data]) \
            if all(isinstance(x, Tensor) and x._data.size == 1 for x in data) else \
            np.array(_to_lists(data))
    else:
        array = data
    if dtype is not None:
        target = _dtype.to_numpy_dtype(dtype)
    else:
        target = array.dtype if isinstance(array, np.ndarray) else _infer_dtype(array)
        if isinstance(array, np.ndarray):
            _dtype.from_numpy_dtype(target)  # rejects unsupported dtypes with a clear error
    try:
        return np.array(array, dtype=target, copy=copy or None)
    except (ValueError, TypeError) as error:
        raise TypeError(f"can't build a tensor from {type(data).__name__}: {error}") from None


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _to_lists(data):
    if isinstance(data, Tensor):
        return data._data.tolist()
    if isinstance(data, (list, tuple)):
        return [_to_lists(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays or tensors).

    Example::

        >>> leafgrad.tensor([1.0, 2.0], requires_grad=True)
        tensor([1., 2.], requires_grad=True)
    """
    return _finish(_from_data(data, dtype, copy=True), requires_grad, device)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return tensor(float(value) if dtype is None else value, dtype=dtype, device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with a tensor or array of the right dtype."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    return _finish(_from_data(data, dtype, copy=False), False, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``: writes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    return _wrap(array, False)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for s in size:
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
    return tuple(int(s) for s in size)


def _float_dtype(dtype) -> np.dtype:
    return _dtype.to_numpy_dtype(dtype) if dtype is not None else \
        _dtype.get_default_dtype().np_dtype


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_size(size), dtype=_float_dtype(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(_size(size), dtype=_float_dtype(dtype)), requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype is inferred from the value, as torch."""
    if dtype is None:
        dtype = _dtype.from_numpy_dtype(_infer_dtype(fill_value))
    return _finish(np.full(_size((size,) if isinstance(size, int) else (tuple(size),)),
                           fill_value, dtype=_dtype.to_numpy_dtype(dtype)), requires_grad, device)


def _like(input: Tensor, dtype) -> np.dtype:
    return _dtype.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(input._data.shape, _like(input, dtype)), requires_grad, device)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(input._data.shape, _like(input, dtype)), requires_grad, device)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(input._data.shape, _like(input, dtype)), requires_grad, device)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    return _finish(np.full(input._data.shape, fill_value, _like(input, dtype)), requires_grad,
                   device)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 unless an argument is a float."""
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if values[2] == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (values[1] - values[0]) * values[2] < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={values[0]}, end={values[1]}, step={values[2]})")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in values)
        dtype = _dtype.get_default_dtype() if is_float else _dtype.int64
    np_dtype = _dtype.to_numpy_dtype(dtype)
    count = max(0, int(np.ceil((values[1] - values[0]) / values[2])))
    array = (values[0] + np.arange(count, dtype=np.float64) * values[2]) if np_dtype.kind == "f" \
        else np.arange(values[0], values[1], values[2])
    return _finish(array.astype(np_dtype), requires_grad, device)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    return _finish(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad,
                   device)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    return _finish(np.logspace(start, end, steps, base=base).astype(_float_dtype(dtype)),
                   requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)


# -- random numbers ------------------------------------------------------------------------
class Generator:
    """A seedable source of random numbers (NumPy's PCG64); torch's streams are not
    reproduced, but the same seed always gives the same numbers in leafgrad."""

    def __init__(self, device="cpu") -> None:
        get_device(device)
        self._seed = 67280421310721
        self.bit_generator = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
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

    def set_state(self, state: Tensor) -> "Generator":
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
    default_generator.set_state(state)


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).bit_generator


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    np_dtype = _float_dtype(dtype)
    sample_dtype = np_dtype if np_dtype in (np.float32, np.float64) else np.float64
    array = _rng(generator).random(_size(size), dtype=sample_dtype).astype(np_dtype, copy=False)
    return _finish(array, requires_grad, device)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    np_dtype = _float_dtype(dtype)
    sample_dtype = np_dtype if np_dtype in (np.float32, np.float64) else np.float64
    array = _rng(generator).standard_normal(_size(size), dtype=sample_dtype)
    return _finish(array.astype(np_dtype, copy=False), requires_grad, device)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers in [low, high); ``randint(high, size)`` starts at 0."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    array = _rng(generator).integers(low, high, _size((tuple(size),))).astype(np_dtype)
    return _finish(array, requires_grad, device)


def randperm(n: int, *, generator=None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    return _finish(_rng(generator).permutation(n).astype(np_dtype), requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples; ``mean``/``std`` may be tensors (broadcast) or numbers with ``size``."""
    mean_data = mean._data if isinstance(mean, Tensor) else mean
    std_data = std._data if isinstance(std, Tensor) else std
    if np.any(np.asarray(std_data) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {np.min(std_data)}")
    if size is None:
        shape = np.broadcast_shapes(np.shape(mean_data), np.shape(std_data))
    else:
        shape = _size((tuple(size),) if not isinstance(size, int) else (size,))
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else (
        like._data.dtype if like is not None else _dtype.get_default_dtype().np_dtype)
    array = (_rng(generator).standard_normal(shape) * std_data + mean_data).astype(np_dtype)
    return _finish(array, requires_grad, device)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or ``p``), in ``input``'s dtype."""
    probs = input._data if p is None else np.full(input._data.shape, p)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1]")
    draws = _rng(generator).random(input._data.shape) < probs
    return _wrap(draws.astype(input._data.dtype), False)


def rand_like(input: Tensor, *, dtype=None, generator=None, requires_grad=False) -> Tensor:
    return rand(input._data.shape, generator=generator, dtype=dtype or input.dtype,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, generator=None, requires_grad=False) -> Tensor:
    return randn(input._data.shape, generator=generator, dtype=dtype or input.dtype,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, generator=None) -> Tensor:
    return randint(low, high, input._data.shape, generator=generator,
                   dtype=dtype or input.dtype)
