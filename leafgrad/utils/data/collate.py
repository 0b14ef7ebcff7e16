"""Collation: merging a list of samples into one batch, with torch's type rules."""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable

import numpy as np

from leafgrad import _dtype
from leafgrad._backend import is_array
from leafgrad._factories import as_tensor, tensor
from leafgrad._tensor import Tensor
from leafgrad.ops.shape import stack

__all__ = ["collate", "default_collate", "default_convert", "default_collate_fn_map"]

# NumPy dtypes of strings, bytes and objects: they have no tensor type
_STRING_OR_OBJECT = re.compile(r"[SaUO]")

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
          "found {}")


def default_convert(data: Any) -> Any:
    """Turn the NumPy arrays and scalars in ``data`` into tensors, keeping its structure (what
    a DataLoader does to each sample when batching is off: ``batch_size=None``).

    Example::

        >>> default_convert([numpy.array([0, 1]), 2])
        [tensor([0, 1]), 2]
    """
    data_type = type(data)
    if isinstance(data, Tensor):
        return data
    if data_type.__module__ == "numpy" and data_type.__name__ not in ("str_", "bytes_"):
        if is_array(data) and _STRING_OR_OBJECT.search(data.dtype.str):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return data_type(*(default_convert(item) for item in data))
    if isinstance(data, tuple):
        return [default_convert(item) for item in data]  # a list, as torch (its old behaviour)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(item) for item in data])
    return data


def _rebuild_mapping(like: collections.abc.Mapping, items: dict) -> collections.abc.Mapping:
    """``items`` in a mapping of ``like``'s type where it can be built, else a dict."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)  # keeps the type and any extra state (defaultdict factory)
            clone.update(items)
            return clone
        return type(like)(items)
    except TypeError:
        return items


def _rebuild_sequence(like: collections.abc.Sequence, items: list) -> collections.abc.Sequence:
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(like)(items)
    except TypeError:
        return items


def collate(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """Collate ``batch`` by the type of its first element: ``collate_fn_map`` maps a type (or a
    tuple of types) to a function ``fn(batch, *, collate_fn_map)``; an exact type match wins,
    then the first entry the element is an instance of. Mappings, namedtuples and sequences are
    collated field by field."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {
            key: collate([sample[key] for sample in batch], collate_fn_map=collate_fn_map)
            for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        elem_size = len(elem)
        if not all(len(sample) == elem_size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(samples, collate_fn_map=collate_fn_map)
                   for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # tuples become lists, as in torch
        return _rebuild_sequence(elem, columns)
    raise TypeError(_ERROR.format(elem_type))


def collate_tensor_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return stack(batch, 0)


def collate_numpy_array_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    elem = batch[0]
    if _STRING_OR_OBJECT.search(elem.dtype.str) is not None:
        raise TypeError(_ERROR.format(elem.dtype))
    return collate([as_tensor(array) for array in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return as_tensor(batch)


def collate_float_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    # float64 whatever the default dtype, as torch: Python floats are doubles
    return tensor(batch, dtype=_dtype.float64)


def collate_int_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return tensor(batch)


def collate_str_fn(batch: list, *, collate_fn_map: dict | None = None) -> list:
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,  # bools too: they give a bool tensor
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, as torch's ``default_collate``.

    Tensors are stacked along a new first dimension; NumPy arrays and scalars become tensors
    first; Python floats give a float64 tensor and ints an int64 one; strings and bytes stay a
    list; dicts, namedtuples and lists are collated per key or position, and tuples give lists.

    Example::

        >>> default_collate([(0, 1.5), (1, 2.5)])
        [tensor([0, 1]), tensor([1.5000, 2.5000], dtype=torch.float64)]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
