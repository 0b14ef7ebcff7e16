"""``assert_close`` as ``torch.testing.assert_close``: same defaults, checks and messages.

Inputs may be tensors, NumPy arrays, numbers, bools, None, or (nested) sequences and mappings
of them. As an extension for tests, a leafgrad tensor may be compared with a torch tensor.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from leafgrad import _dtype
from leafgrad._backend import is_array, to_host
from leafgrad._tensor import Size, Tensor

__all__ = ["assert_close"]

# torch.testing's default (rtol, atol) per dtype; other dtypes compare exactly
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64)}


class _Mismatch(Exception):
    """A failed check: the exception type to raise, its message and where in the inputs."""

    def __init__(self, kind: type, message: str, where: tuple = ()) -> None:
        super().__init__(message)
        self.kind, self.message, self.where = kind, message, where

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if isinstance(msg, str):
            return self.kind(msg)
        message = self.message
        if self.where:
            message += "\n\nThe failure occurred for item " + "".join(str([k]) for k in self.where)
        return self.kind(msg(message) if callable(msg) else message)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close.

    Tensors (and arrays) must match in shape and, unless ``check_dtype=False``, dtype; values
    are close when ``|actual - expected| <= atol + rtol * |expected|``, with torch's defaults per
    dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7, 1e-7; float16: 1e-3, 1e-5; integer
    and bool: exact). ``inf`` matches only itself; ``nan`` matches ``nan`` only with
    ``equal_nan=True``. ``msg`` replaces the message (a string) or edits it (a callable).

    Example::

        >>> from leafgrad.testing import assert_close
        >>> assert_close(leafgrad.tensor([1.0, 2.0]), leafgrad.tensor([1.0, 2.0 + 1e-7]))
        >>> assert_close(leafgrad.tensor([1.0]), leafgrad.tensor([1.1]))
        Traceback (most recent call last):
        ...
        AssertionError: Tensor-likes are not close!
        ...
    """
    __tracebackhide__ = True  # hides this frame in pytest tracebacks
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    try:
        pairs = _pairs(actual, expected, ())
    except _Mismatch as error:
        raise error.to_error() from None
    for kind, a, e, where in pairs:
        try:
            if kind == "bool":
                if a != e:
                    raise _Mismatch(AssertionError, f"Booleans mismatch: {a} is not {e}")
            elif kind == "number":
                _compare_numbers(a, e, rtol, atol, equal_nan, check_dtype)
            elif kind == "tensor":
                _compare_tensors(a, e, rtol, atol, equal_nan, check_dtype)
        except _Mismatch as error:
            error.where = where
            raise error.to_error(msg) from None


def _pairs(actual, expected, where: tuple) -> list:
    """Split nested inputs into comparable pairs, as torch's ``originate_pairs``."""
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: "
                                            f"{len(actual)} != {len(expected)}", where)
        pairs = []
        for index in range(len(actual)):
            pairs.extend(_pairs(actual[index], expected[index], where + (index,)))
        return pairs
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        actual_keys, expected_keys = set(actual), set(expected)
        if actual_keys != expected_keys:
            raise _Mismatch(AssertionError,
                            f"The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: "
                            f"{sorted(expected_keys - actual_keys)}\n"
                            f"Additional keys in the actual mapping: "
                            f"{sorted(actual_keys - expected_keys)}", where)
        try:
            keys = sorted(actual_keys)
        except TypeError:
            keys = list(actual_keys)
        pairs = []
        for key in keys:
            pairs.extend(_pairs(actual[key], expected[key], where + (key,)))
        return pairs
    if actual is None and expected is None:
        return []
    bools = (bool, np.bool_)
    if isinstance(actual, bools) and isinstance(expected, bools):
        return [("bool", bool(actual), bool(expected), where)]
    if _is_number(actual) and _is_number(expected):
        return [("number", _number(actual), _number(expected), where)]
    arrays = _tensor_likes(actual, expected)
    if arrays is not None:
        return [("tensor", *arrays, where)]
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type "
                               f"{type(actual)} and {type(expected)}.", where)


def _is_sequence(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _number(value):
    return value.item() if isinstance(value, np.number) else value


def _is_torch_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _tensor_likes(actual, expected):
    """The two inputs as arrays, or None when they are not a tensor-like pair (torch requires
    both of one kind: tensor with tensor, array with array)."""
    ours = (isinstance(actual, Tensor), isinstance(expected, Tensor))
    if all(ours) or (any(ours) and (_is_torch_tensor(actual) or _is_torch_tensor(expected))):
        return _array(actual), _array(expected)
    if is_array(actual) and is_array(expected):
        for value in (actual, expected):
            _dtype.from_numpy_dtype(value.dtype)  # TypeError for unsupported dtypes
        return to_host(actual), to_host(expected)
    return None


def _array(value) -> np.ndarray:
    if isinstance(value, Tensor):
        return to_host(value._data)  # compared in host memory
    return value.detach().cpu().numpy()  # a torch tensor, in tests


def _tolerances(rtol, atol, *dtypes) -> tuple:
    if rtol is not None:
        return rtol, atol
    pairs = [_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype) -> None:
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != "
                                        f"{type(expected)}.")
    rtol, atol = _tolerances(rtol, atol, *(_NUMBER_DTYPES[type(x)] for x in (actual, expected)))
    if actual == expected:
        return
    if equal_nan and math.isnan(actual) and math.isnan(expected):
        return
    difference = abs(actual - expected)
    if math.isfinite(difference) and difference <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_message(actual, expected, rtol, atol))


def _compare_tensors(actual: np.ndarray, expected: np.ndarray, rtol, atol, equal_nan,
                     check_dtype) -> None:
    if actual.shape != expected.shape:
        raise _Mismatch(AssertionError, f"The values for attribute 'shape' do not match: "
                                        f"{Size(actual.shape)!r} != {Size(expected.shape)!r}.")
    actual_dtype = _dtype.from_numpy_dtype(actual.dtype)
    expected_dtype = _dtype.from_numpy_dtype(expected.dtype)
    if check_dtype and actual_dtype is not expected_dtype:
        raise _Mismatch(AssertionError, f"The values for attribute 'dtype' do not match: "
                                        f"{actual_dtype!r} != {expected_dtype!r}.")
    rtol, atol = _tolerances(rtol, atol, actual.dtype, expected.dtype)
    if actual.dtype != expected.dtype:  # compared in the promoted dtype, as torch
        common = _dtype.promote_types(actual.dtype, expected.dtype)
        actual, expected = actual.astype(common), expected.astype(common)
    matches = _isclose(actual, expected, rtol, atol, equal_nan)
    if matches.all():
        return
    if actual.ndim == 0:
        raise _Mismatch(AssertionError,
                        _scalar_message(actual.item(), expected.item(), rtol, atol))
    raise _Mismatch(AssertionError, _tensor_message(actual, expected, matches, rtol, atol))


def _isclose(actual: np.ndarray, expected: np.ndarray, rtol, atol, equal_nan) -> np.ndarray:
    """torch.isclose: exact for integers and bools without tolerance; otherwise
    ``|a - e| <= atol + rtol * |e|`` in the inputs' floating dtype, infs equal only to
    themselves."""
    if not _dtype.is_floating_point(actual.dtype):
        if rtol == 0 and atol == 0:
            return actual == expected
        actual, expected = actual.astype(np.float64), expected.astype(np.float64)
    with np.errstate(all="ignore"):
        difference = np.abs(actual - expected)
        close = (actual == expected) | (np.isfinite(difference) & (
            difference <= atol + rtol * np.abs(expected)))
    if equal_nan:
        close |= np.isnan(actual) & np.isnan(expected)
    return close


def _difference_line(kind: str, difference, index, tolerance, equality: bool) -> str:
    line = (f"{kind.title()} difference: {difference}" if index is None else
            f"Greatest {kind} difference: {difference} at index {index}")
    return line + ("" if equality else f" (up to {tolerance} allowed)") + "\n"


def _message(identifier: str, extra: str, abs_diff, abs_index, atol, rel_diff, rel_index,
             rtol) -> str:
    equality = rtol == 0 and atol == 0
    text = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    text += _difference_line("absolute", abs_diff, abs_index, atol, equality)
    text += _difference_line("relative", rel_diff, rel_index, rtol, equality)
    return text.strip()


def _scalar_message(actual, expected, rtol, atol) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _message("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol,
                    rel_diff, None, rtol)


def _tensor_message(actual: np.ndarray, expected: np.ndarray, matches: np.ndarray, rtol,
                    atol) -> str:
    total = matches.size
    mismatched = total - int(matches.sum())
    extra = f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})"
    actual_flat, expected_flat = actual.ravel(), expected.ravel()
    if not _dtype.is_floating_point(actual.dtype):  # torch upcasts integers and bools to int64
        actual_flat, expected_flat = actual_flat.astype(np.int64), expected_flat.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(actual_flat - expected_flat)
        abs_diff[matches.ravel()] = 0
        rel_diff = abs_diff / np.abs(expected_flat)
        if rel_diff.dtype != actual_flat.dtype:  # int64 / int64 is the default float in torch
            rel_diff = rel_diff.astype(_dtype.get_default_dtype().np_dtype)
        rel_diff[matches.ravel()] = 0
    abs_index, rel_index = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    return _message("Tensor-likes", extra, abs_diff[abs_index].item(),
                    _unravel(abs_index, actual.shape), atol, rel_diff[rel_index].item(),
                    _unravel(rel_index, actual.shape), rtol)


def _unravel(flat_index: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))
