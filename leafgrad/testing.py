"""``assert_close`` with torch's default tolerances per dtype."""
from __future__ import annotations

import numpy as np

from leafgrad._tensor import Tensor

__all__ = ["assert_close"]

# torch.testing defaults: (rtol, atol) by dtype
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}


def _to_array(value):
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, in tests
        return value.detach().cpu().numpy()
    return np.asarray(value)


def assert_close(actual, expected, *, rtol: float | None = None, atol: float | None = None,
                 equal_nan: bool = False, check_dtype: bool = True, msg: str | None = None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` match in shape, dtype and value
    (``|a - e| <= atol + rtol * |e|``)."""
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted")
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            raise AssertionError(f"sequence lengths differ: {len(actual)} != {len(expected)}")
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg)
        return
    a, e = _to_array(actual), _to_array(expected)
    if a.shape != e.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: "
                                    f"{a.shape} != {e.shape}.")
    if check_dtype and isinstance(actual, Tensor) and isinstance(expected, Tensor) and \
            a.dtype != e.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: "
                                    f"{a.dtype} != {e.dtype}.")
    if rtol is None:
        rtol, atol = _TOLERANCES.get(np.result_type(a, e), (0.0, 0.0))
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan):
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        worst = np.nanmax(diff) if diff.size else 0.0
        mismatched = int(np.sum(~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)))
        raise AssertionError(msg or f"Tensor-likes are not close!\n\nMismatched elements: "
                                    f"{mismatched} / {a.size}\nGreatest absolute difference: "
                                    f"{worst} (up to {atol} allowed, rtol {rtol})")
