"""torch-style printing: ``tensor([1., 2.], requires_grad=True)``."""
from __future__ import annotations

import numpy as np

_DEFAULT_DTYPES = ("float32", "int64", "bool")
PRINT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)].astype(np.float64)
    precision = PRINT_OPTIONS["precision"]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.{precision}f}"
    magnitudes = np.abs(finite)
    nonzero = magnitudes[magnitudes != 0]
    if np.all(finite == np.round(finite)) and (nonzero.size == 0 or nonzero.max() < 1e8):
        return lambda v: _special(v) or f"{v:.0f}."
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8
                         or nonzero.min() < 1e-4):
        return lambda v: _special(v) or f"{v:.{precision}e}"
    return lambda v: _special(v) or f"{v:.{precision}f}"


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_array(array: np.ndarray, indent: int) -> str:
    if array.dtype.kind == "f":
        formatter = {"float_kind": _float_formatter(array.ravel())}
    elif array.dtype.kind == "b":
        formatter = {"bool": lambda v: "True" if v else "False"}
    else:
        formatter = None
    if array.ndim == 0:
        if formatter:
            (fmt,) = formatter.values()
            return fmt(array.item())
        return str(array.item())
    return np.array2string(array, separator=", ", prefix=" " * indent, formatter=formatter,
                           threshold=PRINT_OPTIONS["threshold"],
                           edgeitems=PRINT_OPTIONS["edgeitems"],
                           max_line_width=PRINT_OPTIONS["linewidth"])


def tensor_repr(tensor) -> str:
    array = tensor._data
    suffixes = []
    if array.size == 0 and array.ndim != 1:
        body = "[]"
        suffixes.append(f"size={tuple(array.shape)}")
    else:
        body = format_array(array, len("tensor("))
    name = tensor.dtype.name
    if name not in _DEFAULT_DTYPES or (array.size == 0 and name != "float32"):
        suffixes.append(f"dtype=torch.{name}")
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor._requires_grad:
        suffixes.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + suffixes) + ")"
