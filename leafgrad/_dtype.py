"""Dtype objects with torch's names, torch's type-promotion rules, and the dtype predicates.

Arrays keep NumPy dtypes on every backend; code asks what an array's dtype is through the
predicates below (``is_floating_point(a.dtype)``, ``is_differentiable(a.dtype)``...), never
through ``dtype.kind`` (a test scans the library for ``.kind`` comparisons).
"""
from __future__ import annotations

import numpy as np

__all__ = ["dtype", "get_default_dtype", "promote_types", "set_default_dtype",
           "is_floating_point", "is_complex", "is_differentiable", "is_integral", "is_bool"]


class dtype:
    """A tensor element type, named as in torch (``leafgrad.float32``)."""

    __slots__ = ("name", "np_dtype", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype: np.dtype, category: int) -> None:
        self.name = name
        self.np_dtype = np.dtype(np_dtype)
        self.is_floating_point = category == 2
        self.is_signed = self.np_dtype.kind in "fi"
        self.itemsize = self.np_dtype.itemsize
        self._category = category  # 0 bool, 1 integer, 2 floating: torch's promotion categories

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name


float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
float16 = dtype("float16", np.float16, 2)
int64 = dtype("int64", np.int64, 1)
int32 = dtype("int32", np.int32, 1)
int16 = dtype("int16", np.int16, 1)
int8 = dtype("int8", np.int8, 1)
uint8 = dtype("uint8", np.uint8, 1)
bool_ = dtype("bool", np.bool_, 0)

ALL_DTYPES = (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)
ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
           "short": int16}
_FROM_NUMPY = {d.np_dtype: d for d in ALL_DTYPES}

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype given to Python floats and float factories (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype; only float32 and float64 are allowed, as in torch."""
    global _default_float
    if d not in (float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d
    _promotion_cache.clear()


def from_numpy_dtype(np_dtype) -> dtype:
    """The leafgrad dtype for a NumPy dtype; TypeError names unsupported ones."""
    try:
        return _FROM_NUMPY[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert NumPy array of type {np.dtype(np_dtype)}: leafgrad supports "
            "float64, float32, float16, int64, int32, int16, int8, uint8 and bool"
        ) from None


def to_numpy_dtype(d) -> np.dtype:
    """Accept a leafgrad dtype or Python's float/int/bool, as torch, which refuses strings and
    NumPy scalar types (``dtype="float32"`` raises TypeError). A NumPy dtype instance passes:
    leafgrad's own code hands those on."""
    if isinstance(d, dtype):
        return d.np_dtype
    if isinstance(d, np.dtype):
        return from_numpy_dtype(d).np_dtype
    if d is float:  # torch maps Python's float to float64 (not to the default dtype)
        return np.dtype(np.float64)
    if d is int:
        return np.dtype(np.int64)
    if d is bool:
        return np.dtype(np.bool_)
    raise TypeError(f"argument 'dtype' must be torch.dtype, not {type(d).__name__}: dtype must "
                    f"be a leafgrad dtype such as leafgrad.float32 (got {d!r})")


# -- predicates on array dtypes: the one place that knows which dtypes are which ---------------
def is_floating_point(np_dtype: np.dtype) -> bool:
    """Whether an array dtype is a floating-point one (float16/32/64)."""
    return np_dtype.kind == "f"


def is_complex(np_dtype: np.dtype) -> bool:
    """Whether an array dtype is complex (no complex dtype is supported yet: always False for
    a leafgrad tensor's array)."""
    return np_dtype.kind == "c"


def is_differentiable(np_dtype: np.dtype) -> bool:
    """Whether values of this array dtype can carry gradients: floating point and complex, as
    in torch (integers and bools never require grad)."""
    return np_dtype.kind in "fc"


def is_integral(np_dtype: np.dtype, include_bool: bool = False) -> bool:
    """Whether an array dtype is an integer one (bool too with ``include_bool``)."""
    return np_dtype.kind in ("iub" if include_bool else "iu")


def is_bool(np_dtype: np.dtype) -> bool:
    """Whether an array dtype is bool."""
    return np_dtype.kind == "b"


def _category(np_dtype: np.dtype) -> int:
    kind = np_dtype.kind
    return 2 if kind == "f" else (0 if kind == "b" else 1)


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch.promote_types on NumPy dtypes: a higher category wins outright (float32 with int64
    is float32, where NumPy would widen to float64); within a category NumPy's rule agrees."""
    a, b = np.dtype(a), np.dtype(b)
    category_a, category_b = _category(a), _category(b)
    if category_a != category_b:
        return a if category_a > category_b else b
    return np.promote_types(a, b)


_promotion_cache: dict = {}


def promote_arrays(dims_dtypes: tuple, zero_dim_dtypes: tuple, scalar_kinds: tuple) -> np.dtype:
    """torch's result type: dimensioned tensors beat 0-dim tensors beat Python scalars, unless a
    lower-priority operand is of a higher category (bool < integer < floating)."""
    key = (dims_dtypes, zero_dim_dtypes, scalar_kinds)
    hit = _promotion_cache.get(key)
    if hit is not None:
        return hit
    result = None
    for group in (dims_dtypes, zero_dim_dtypes):
        if not group:
            continue
        group_type = group[0]
        for other in group[1:]:
            group_type = promote_types(group_type, other)
        if result is None or _category(group_type) > _category(result):
            result = group_type
    if scalar_kinds:
        scalar_cat = max(scalar_kinds)
        if result is None:
            result = {0: np.dtype(np.bool_), 1: np.dtype(np.int64), 2: _default_float.np_dtype}[
                scalar_cat
            ]
        elif scalar_cat > _category(result):
            result = _default_float.np_dtype if scalar_cat == 2 else np.dtype(np.int64)
    _promotion_cache[key] = result
    return result


def scalar_kind(value) -> int:
    """Promotion category of a Python scalar."""
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    if isinstance(value, (float, np.floating)):
        return 2
    raise TypeError(f"unsupported operand type {type(value).__name__}")
