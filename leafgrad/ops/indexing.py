"""Indexing ops: gather, scatter, index_select, masked ops, nonzero."""
from __future__ import annotations

import numpy as np

from leafgrad._tensor import Tensor, _wrap

__all__ = ["nonzero"]


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one tensor per dim."""
    indices = np.nonzero(input._data)
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64), False) for i in indices)
    return _wrap(np.stack(indices, axis=1).astype(np.int64) if indices else
                 np.zeros((int(bool(input._data)), 0), dtype=np.int64), False)


TENSOR_METHODS = {"nonzero": nonzero}
