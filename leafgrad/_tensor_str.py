"""torch-style printing: ``tensor([1., 2.], requires_grad=True)``.

A port of ``torch/_tensor_str.py`` to NumPy arrays, so that a tensor prints character for
character as torch prints it: one width for every element (right-aligned), integer-valued
floats as ``1.``, four decimals otherwise, scientific notation when the nonzero finite values
span more than three orders of magnitude or leave [1e-4, 1e8], summaries (``...``) above
1000 elements, lines wrapped at 80 columns, and the dtype/grad suffixes torch adds.
"""
from __future__ import annotations

import math

import numpy as np

from leafgrad._backend import to_host
from leafgrad._dtype import is_floating_point

__all__ = ["set_printoptions", "get_printoptions", "tensor_repr"]

PRINT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                 "sci_mode": None}
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set printing options, as ``torch.set_printoptions`` (same names and profiles).

    Example::

        >>> leafgrad.set_printoptions(precision=2)
        >>> leafgrad.tensor([1.12345])
        tensor([1.12])
        >>> leafgrad.set_printoptions(profile="default")
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}: expected one of "
                             f"{sorted(_PROFILES)}")
        PRINT_OPTIONS.update(zip(("precision", "threshold", "edgeitems", "linewidth"),
                                 _PROFILES[profile], strict=True))
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            PRINT_OPTIONS[name] = value
    PRINT_OPTIONS["sci_mode"] = sci_mode  # as torch: None (automatic) unless given


def get_printoptions() -> dict:
    """The current print options, as keyword arguments for :func:`set_printoptions`."""
    return dict(PRINT_OPTIONS)


class _Formatter:
    """Chooses one format (int, fixed or scientific) and one width for all shown elements."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = is_floating_point(values.dtype)
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return  # only zeros, inf and nan: int mode, width 1 (torch does the same)
        magnitudes = np.abs(finite.astype(np.float64))
        smallest, largest = magnitudes.min(), magnitudes.max()
        # compared in the tensor's own dtype, as torch's `value != ceil(value)`
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        sci = PRINT_OPTIONS["sci_mode"]
        self.sci_mode = bool(largest / smallest > 1000.0 or largest > 1.0e8
                             or smallest < 1.0e-4) if sci is None else sci
        precision = PRINT_OPTIONS["precision"]
        for value in finite.astype(np.float64).tolist():
            if self.sci_mode:
                text = f"{value:.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}."
            else:
                text = f"{value:.{precision}f}"
            self.max_width = max(self.max_width, len(text))

    def format(self, value) -> str:
        precision = PRINT_OPTIONS["precision"]
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _python_values(array: np.ndarray) -> list:
    # float16/float32 go through float64, as torch's tolist() does, so digits match
    return array.astype(np.float64).tolist() if is_floating_point(array.dtype) else \
        array.tolist()


def _vector_str(array: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    element_length = formatter.max_width + 2  # the element, a comma and a space
    per_line = max(1, math.floor((PRINT_OPTIONS["linewidth"] - indent) / element_length))
    edge = PRINT_OPTIONS["edgeitems"]
    if summarize and not edge:
        data = ["..."]
    elif summarize and array.shape[0] > 2 * edge:
        data = ([formatter.format(v) for v in _python_values(array[:edge])] + [" ..."]
                + [formatter.format(v) for v in _python_values(array[-edge:])])
    else:
        data = [formatter.format(v) for v in _python_values(array)]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(array: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    if array.ndim == 0:
        return formatter.format(_python_values(array))
    if array.ndim == 1:
        return _vector_str(array, indent, summarize, formatter)
    edge = PRINT_OPTIONS["edgeitems"]
    if summarize and array.shape[0] > 2 * edge:
        slices = ([_array_str(array[i], indent + 1, summarize, formatter) for i in range(edge)]
                  + ["..."]
                  + [_array_str(array[i], indent + 1, summarize, formatter)
                     for i in range(array.shape[0] - edge, array.shape[0])])
    else:
        slices = [_array_str(row, indent + 1, summarize, formatter) for row in array]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized(array: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows (the formatter sizes its width on these only)."""
    edge = PRINT_OPTIONS["edgeitems"]
    if array.ndim <= 1:
        if array.ndim == 1 and array.shape[0] > 2 * edge:
            return np.concatenate((array[:edge], array[-edge:]))
        return array.reshape(-1)
    if not edge:
        return array.reshape(-1)[:0]
    rows = list(array[:edge]) + list(array[-edge:]) if array.shape[0] > 2 * edge else list(array)
    return np.concatenate([_summarized(row) for row in rows])


def format_array(array: np.ndarray, indent: int) -> str:
    """The bracketed body of a tensor's repr (``[1., 2.]``), as torch's ``_tensor_str``."""
    if array.size == 0:
        return "[]"
    array = to_host(array)  # printed from host memory
    summarize = array.size > PRINT_OPTIONS["threshold"]
    formatter = _Formatter(_summarized(array) if summarize else array)
    return _array_str(array, indent, summarize, formatter)


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTIONS["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(tensor) -> str:
    from leafgrad import _dtype

    array = tensor._data
    cls = type(tensor)
    # torch prints Parameters (and plain tensors) as ``tensor(``, other subclasses by name
    plain = cls.__name__ in ("Tensor", "Parameter")
    prefix = "tensor(" if plain else f"{cls.__name__}("
    indent = len(prefix)
    default_float = _dtype.get_default_dtype()
    dtype = tensor.dtype
    suffixes = []
    if array.size == 0:
        if array.ndim != 1:  # torch shows the shape unless it is (0,), as NumPy does
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype is not default_float:  # nothing to infer the dtype from: always named
            suffixes.append(f"dtype={dtype!r}")
        body = "[]"
    else:
        if not PRINT_OPTIONS["edgeitems"]:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype not in (default_float, _dtype.int64, _dtype.bool_):
            suffixes.append(f"dtype={dtype!r}")
        body = format_array(array, indent)
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
