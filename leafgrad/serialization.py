"""Checkpoints: ``save(obj, path)`` and ``load(path)`` without pickle.

A checkpoint is a safetensors file. Its tensors and arrays are the file's named arrays; the
rest of the object (dicts, OrderedDicts, lists, tuples, numbers, strings, None, dtypes) is a
JSON description in the file's metadata, with each tensor standing in as its array's name,
dtype, shape, ``requires_grad`` flag and SHA-256 digest; tensors that share memory (a tensor and
its slices) are views of one flat array, with their offsets and strides, and share it again
when loaded, as torch's storages do. A module state_dict keeps its ``_metadata`` (the modules'
versions). Loading parses JSON and copies arrays: it never imports or runs code, and it checks
everything (the file's layout, the description's digest, every array's dtype, shape and
digest) before it builds anything, so a damaged file gives an error and nothing else.

Saving to a path is atomic (:func:`atomic_write`): the file is written under a temporary name in
the same folder, flushed to disk, then renamed over the target, so a crash leaves the old file
or the new one.
"""
from __future__ import annotations

import collections
import errno
import hashlib
import json
import math
import os
import secrets
import stat
import struct
import sys
from typing import Any, BinaryIO

import numpy as np

from leafgrad import _dtype
from leafgrad._backend import device, get_device, is_array, to_host
from leafgrad._tensor import Size, Tensor, _wrap

__all__ = ["save", "load", "atomic_write"]

_FORMAT = "leafgrad.checkpoint"
_VERSION = 2  # 2 added views: tensors that share memory with others of the file
_READABLE_VERSIONS = (1, 2)
_STRUCTURE_KEY = "leafgrad"  # metadata entry holding the JSON description
_DIGEST_KEY = "leafgrad.sha256"  # metadata entry holding the description's SHA-256
_TYPE = "__type__"
_INSTALL_HINT = ("leafgrad.save and leafgrad.load store checkpoints with the safetensors "
                 "package: install it with `pip install leafgrad[checkpoint]` (or `pip install "
                 "safetensors`)")

# The array dtypes safetensors stores; tensors use the subset leafgrad has.
_ARRAY_DTYPES = {np.dtype(name) for name in (
    "bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
    "float16", "float32", "float64")}
_TENSOR_DTYPES = {d.np_dtype for d in _dtype.ALL_DTYPES}
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _safetensors_numpy():
    try:
        from safetensors import numpy as safetensors_numpy
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return safetensors_numpy


def _parameter_class():
    """leafgrad.nn's Parameter class, or None where leafgrad.nn does not define one."""
    try:
        from leafgrad.nn.parameter import Parameter
    except ImportError:
        return None
    return Parameter


# -- saving ---------------------------------------------------------------------------------
class _Encoder:
    """Turns an object into (JSON description, {name: array}).

    Tensors are described as they are met and given their arrays by :meth:`finish`, once it
    knows which of them share memory: distinct tensors that view one NumPy buffer (a tensor and
    its slices, a parameter and its ``detach()``) are stored as one flat array plus each view's
    offset and strides, so that they share memory again after loading, as torch's storages do.
    A tensor alone on its buffer is stored compactly, as an array of its own shape.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.names: dict[int, str] = {}  # id of an array (or tensor) stored whole -> its name
        self.tensor_nodes: dict[int, dict] = {}  # id of a saved tensor -> its description
        self.buffers: dict[int, list[tuple[Tensor, dict]]] = {}  # id of a buffer -> its tensors
        self.keep_alive: list = []  # so that the ids above are not reused while saving
        self.open_containers: set[int] = set()
        self.parameter = _parameter_class()
        self.views = 0  # how many tensors are stored as views of a shared array

    def encode(self, obj: Any, where: str) -> Any:
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            if math.isfinite(obj):
                return obj
            return {_TYPE: "float", "value": "nan" if math.isnan(obj) else
                    ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, Tensor):
            return self._tensor(obj, where)
        if kind is np.ndarray:  # a NumPy array of the caller's (tensors' arrays go by _tensor)
            return self._array(obj, "ndarray", where)
        if isinstance(obj, np.generic) and kind.__module__ == "numpy":
            return self._array(np.asarray(obj), "numpy_scalar", where)
        if kind is _dtype.dtype:
            return {_TYPE: "dtype", "name": obj.name}
        if kind is device:
            return {_TYPE: "device", "name": str(obj)}
        if kind in (list, tuple, Size, dict, collections.OrderedDict):
            if id(obj) in self.open_containers:
                raise ValueError(f"leafgrad.save: {where} contains itself; a checkpoint cannot "
                                 f"hold a self-referencing structure")
            self.open_containers.add(id(obj))
            try:
                return self._container(obj, kind, where)
            finally:
                self.open_containers.discard(id(obj))
        if isinstance(obj, tuple) and hasattr(kind, "_fields"):
            raise TypeError(f"leafgrad.save cannot store {where} of type {kind.__module__}."
                            f"{kind.__qualname__}, a namedtuple (loading it would mean importing "
                            f"its class): save tuple(value) or value._asdict() instead")
        raise TypeError(f"leafgrad.save cannot store {where} of type {kind.__module__}."
                        f"{kind.__qualname__}: checkpoints hold tensors, NumPy arrays, dicts, "
                        f"OrderedDicts, lists, tuples, numbers, strings, None and dtypes")

    def _container(self, obj, kind, where: str) -> Any:
        if kind is list:
            return [self.encode(item, f"{where}[{i}]") for i, item in enumerate(obj)]
        if kind in (tuple, Size):
            return {_TYPE: "tuple" if kind is tuple else "size",
                    "items": [self.encode(item, f"{where}[{i}]") for i, item in enumerate(obj)]}
        items = []
        for key, value in obj.items():
            if type(key) not in (str, int, float, bool, tuple) and key is not None:
                raise TypeError(f"leafgrad.save cannot store the key {key!r} of {where}: dict "
                                f"keys must be str, int, float, bool, None or tuples of them")
            items.append([self.encode(key, f"{where} key {key!r}"),
                          self.encode(value, f"{where}[{key!r}]")])
        node = {_TYPE: "dict" if kind is dict else "odict", "items": items}
        metadata = getattr(obj, "_metadata", None)  # a module state_dict's version numbers
        if kind is collections.OrderedDict and metadata is not None:
            node["metadata"] = self.encode(metadata, f"{where}._metadata")
        return node

    def _tensor(self, tensor: Tensor, where: str) -> dict:
        node = self.tensor_nodes.get(id(tensor))
        if node is not None:  # the same tensor saved twice is stored once, loads as one object
            return node
        if type(tensor) is Tensor:
            kind = "tensor"
        elif self.parameter is not None and type(tensor) is self.parameter:
            kind = "parameter"
        else:
            raise TypeError(f"leafgrad.save cannot store {where} of type "
                            f"{type(tensor).__qualname__} (a Tensor subclass): save a plain "
                            f"tensor (tensor.detach()) instead")
        array = tensor._data
        if array.dtype.newbyteorder("=") not in _TENSOR_DTYPES:
            raise TypeError(f"leafgrad.save cannot store {where}: NumPy dtype {array.dtype} is "
                            f"not one safetensors stores (bool, (u)int8-64, float16/32/64)")
        node = {_TYPE: kind, "requires_grad": tensor.requires_grad}  # finish() adds the rest
        self.tensor_nodes[id(tensor)] = node
        self.keep_alive.append(tensor)
        self.buffers.setdefault(id(_buffer_of(array)), []).append((tensor, node))
        return node

    def finish(self) -> None:
        """Give every tensor description its array, sharing buffers where tensors share them."""
        for members in self.buffers.values():
            views = [(tensor, node, layout) for tensor, node in members
                     if len(members) > 1 and (layout := _view_layout(tensor._data)) is not None]
            if len(views) < 2:  # no other saved tensor shares this one's memory
                views = []
            shared = {id(node) for _, node, _ in views}
            for tensor, node in members:
                if id(node) not in shared:
                    node.update(self._array(to_host(tensor._data), node[_TYPE], "", key=tensor))
            if views:
                self._store_views(views)

    def _store_views(self, views: list) -> None:
        """Store the span of one buffer that ``views`` cover as one flat array; each view is
        described by its offset and strides in it (in elements), and numbered."""
        flat = views[0][2][0]
        low = min(first for _, _, (_, first, _, _) in views)
        high = max(last for _, _, (_, _, last, _) in views)
        name = str(len(self.arrays))
        self.arrays[name] = flat[low:high + 1].astype(flat.dtype.newbyteorder("="), copy=False)
        digest = _digest(self.arrays[name])
        for tensor, node, (_, _, _, offset) in views:
            node.update({"name": name, "dtype": self.arrays[name].dtype.name,
                         "shape": list(tensor.shape), "sha256": digest, "offset": offset - low,
                         "stride": _element_strides(tensor._data), "object": self.views})
            self.views += 1

    def _array(self, array: np.ndarray, kind: str, where: str, key: Any = None) -> dict:
        key = array if key is None else key
        native = array.dtype.newbyteorder("=")
        if native not in (_TENSOR_DTYPES if kind in ("tensor", "parameter") else _ARRAY_DTYPES):
            raise TypeError(f"leafgrad.save cannot store {where}: NumPy dtype {array.dtype} is "
                            f"not one safetensors stores (bool, (u)int8-64, float16/32/64)")
        name = self.names.get(id(key))
        if name is None:  # the same array saved twice is stored once, and loads as one object
            name = str(len(self.arrays))
            self.names[id(key)] = name
            self.keep_alive.append(key)
            array = array.astype(native, copy=False)
            # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
            self.arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
        return {_TYPE: kind, "name": name, "dtype": native.name,
                "shape": list(array.shape), "sha256": _digest(self.arrays[name])}


def _buffer_of(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory (``array`` itself when it is not a view)."""
    while is_array(array.base):
        array = array.base
    return array


def _element_strides(array: np.ndarray) -> list[int]:
    return [stride // array.itemsize for stride in array.strides]


def _view_layout(array: np.ndarray) -> tuple[np.ndarray, int, int, int] | None:
    """``(flat buffer, first element, last element, offset)`` of ``array`` within its buffer,
    counted in elements; None when it cannot be described that way (an empty array, another
    dtype than its buffer's, elements that overlap as after ``expand``): it is then stored
    on its own."""
    buffer = _buffer_of(array)
    if not (buffer.flags.c_contiguous or buffer.flags.f_contiguous):
        return None
    strides = _element_strides(array)
    if array.size == 0 or array.dtype != buffer.dtype or _overlaps(array.shape, strides):
        return None
    flat = buffer.ravel(order="K")  # a view in memory order when the buffer is contiguous
    start = flat.__array_interface__["data"][0]
    if start != buffer.__array_interface__["data"][0] or not flat.flags.c_contiguous:
        return None
    offset, remainder = divmod(array.__array_interface__["data"][0] - start, array.itemsize)
    if remainder or any(stride % array.itemsize for stride in array.strides):
        return None
    first = offset + sum(s * (n - 1) for s, n in zip(strides, array.shape) if s < 0)
    last = offset + sum(s * (n - 1) for s, n in zip(strides, array.shape) if s > 0)
    return flat, first, last, offset


def _overlaps(shape: list[int], strides: list[int]) -> bool:
    """Whether two elements of the layout (``strides`` in elements) may share memory: some
    dimension's step is shorter than the extent of the dimensions inside it."""
    extent = 1
    for stride, size in sorted((abs(s), n) for s, n in zip(strides, shape) if n > 1):
        if stride < extent:
            return True
        extent += stride * (size - 1)
    return False


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(array.reshape(-1).view(np.uint8)).hexdigest()


def _serialize(obj: Any) -> bytes:
    safetensors_numpy = _safetensors_numpy()
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    encoder.finish()
    # version 1 readers know no views: files without views stay readable by them
    structure = json.dumps({"format": _FORMAT, "version": _VERSION if encoder.views else 1,
                            "root": root}, allow_nan=False, separators=(",", ":"))
    metadata = {_STRUCTURE_KEY: structure,
                _DIGEST_KEY: hashlib.sha256(structure.encode()).hexdigest()}
    return safetensors_numpy.save(encoder.arrays, metadata=metadata)


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Replace the file at ``path`` by ``data`` atomically: write a temporary file in the same
    folder, flush it to disk, then rename it over ``path``, so that a crash leaves either the
    old file or the new one. A symbolic link is followed (its target is replaced, the link
    stays) and a file that exists keeps its permission bits.

    Example::

        >>> atomic_write("plot.png", png_bytes)
    """
    path = os.path.realpath(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    if mode is not None and not os.access(path, os.W_OK):  # as open(path, "wb") would refuse
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    directory = os.path.dirname(path)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                        f"{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write into a file someone else owns; 0o666 lets the umask decide the mode
    # of a new file
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            if mode is not None:
                os.chmod(temporary, mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Save ``obj`` (tensors, NumPy arrays, state_dicts, optimizer states, and dicts, lists
    and tuples of them with numbers, strings and None) to ``f``: a path, written atomically,
    or a binary file object.

    Tensors keep their dtype, shape and ``requires_grad`` (not ``.grad``, as torch); container
    types, key types and the order of keys come back as they were.

    Example::

        >>> leafgrad.save({"step": 3, "weights": leafgrad.ones(2)}, "checkpoint.safetensors")
        >>> leafgrad.load("checkpoint.safetensors")["step"]
        3
    """
    try:
        data = _serialize(obj)
    except RecursionError:
        target = getattr(f, "name", repr(f)) if hasattr(f, "write") else os.fspath(f)
        raise RecursionError(f"leafgrad.save: cannot save to {target}: the object's containers "
                             f"are nested too deeply (Python's recursion limit is "
                             f"{sys.getrecursionlimit()})") from None
    if hasattr(f, "write"):
        f.write(data)
        return
    atomic_write(f, data)


# -- loading --------------------------------------------------------------------------------
class _CorruptCheckpoint(Exception):
    """What is wrong with a file; load() turns it into a RuntimeError naming the file."""


def _read_metadata(data: bytes) -> dict[str, str]:
    """The metadata of a safetensors file, read from its header (safetensors' own reader
    checks the rest of the layout)."""
    if len(data) < 8:
        _check_foreign_format(data)
        raise _CorruptCheckpoint(f"the file is {len(data)} bytes long, too short for a "
                                 f"safetensors header (truncated?)")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > len(data) - 8:
        _check_foreign_format(data)
        raise _CorruptCheckpoint(f"the header claims {header_length} bytes but only "
                                 f"{len(data) - 8} follow (truncated?)")
    try:
        header = json.loads(data[8:8 + header_length])
    except (UnicodeDecodeError, ValueError) as error:
        _check_foreign_format(data)
        raise _CorruptCheckpoint(f"the header is not valid JSON ({error})") from None
    except RecursionError:
        raise _CorruptCheckpoint("the header is nested too deeply to parse") from None
    if not isinstance(header, dict):
        raise _CorruptCheckpoint("the header is not a JSON object")
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or _STRUCTURE_KEY not in metadata:
        raise _CorruptCheckpoint("it has no leafgrad description in its metadata: it was not "
                                 "written by leafgrad.save (plain safetensors files load with "
                                 "safetensors.numpy.load_file)")
    return metadata


def _check_foreign_format(data: bytes) -> None:
    """Say what a file is when it is not a safetensors file but one torch.save writes."""
    if data.startswith(b"PK\x03\x04"):
        raise _CorruptCheckpoint(
            "it is a zip archive, the format torch.save writes; leafgrad.load reads only files "
            "written by leafgrad.save (to bring PyTorch weights over, load them with torch.load "
            "and convert each tensor with leafgrad.tensor(t.numpy()))")
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        raise _CorruptCheckpoint(
            "it is a Python pickle (torch.save's legacy format, or pickle.dump), which "
            "leafgrad.load never unpickles: it reads only files written by leafgrad.save")


class _Decoder:
    """Checks a JSON description against the file's arrays and builds the object."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        # name -> (how it is used: "array" or "view", its digest, a writable copy)
        self.checked: dict[str, tuple[str, str, np.ndarray]] = {}
        self.built: dict[Any, tuple[dict, Any]] = {}  # array name or view number -> result

    def decode(self, node: Any, where: str) -> Any:
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(item, f"{where}[{i}]") for i, item in enumerate(node)]
        if type(node) is not dict or not isinstance(node.get(_TYPE), str):
            raise _CorruptCheckpoint(f"{where}: unreadable description {_short(node)}")
        kind = node[_TYPE]
        if kind == "float":
            value = node.get("value")
            if value not in _NON_FINITE:
                raise _CorruptCheckpoint(f"{where}: bad float value {_short(value)}")
            return _NON_FINITE[value]
        if kind in ("tuple", "size"):
            items = self._items(node, where)
            values = [self.decode(item, f"{where}[{i}]") for i, item in enumerate(items)]
            if kind == "tuple":
                return tuple(values)
            if not all(type(value) is int for value in values):
                raise _CorruptCheckpoint(f"{where}: a Size holds ints only")
            return Size(values)
        if kind in ("dict", "odict"):
            result = {} if kind == "dict" else collections.OrderedDict()
            for pair in self._items(node, where):
                if type(pair) is not list or len(pair) != 2:
                    raise _CorruptCheckpoint(f"{where}: a dict item is not a [key, value] pair")
                key = self.decode(pair[0], f"{where} key")
                try:
                    hash(key)
                except TypeError:
                    raise _CorruptCheckpoint(f"{where}: unhashable dict key "
                                             f"{_short(pair[0])}") from None
                result[key] = self.decode(pair[1], f"{where}[{key!r}]")
            if kind == "odict" and "metadata" in node:
                metadata = self.decode(node["metadata"], f"{where}._metadata")
                if not isinstance(metadata, dict):
                    raise _CorruptCheckpoint(f"{where}._metadata is not a dict")
                result._metadata = metadata
            return result
        if kind == "dtype":
            name = node.get("name")
            if not isinstance(name, str) or not any(d.name == name for d in _dtype.ALL_DTYPES):
                raise _CorruptCheckpoint(f"{where}: unknown dtype {_short(name)}")
            return next(d for d in _dtype.ALL_DTYPES if d.name == name)
        if kind == "device":
            try:
                return get_device(node.get("name"))
            except (TypeError, ValueError, RuntimeError) as error:
                raise _CorruptCheckpoint(f"{where}: bad device ({error})") from None
        if kind in ("tensor", "parameter") and "offset" in node:
            return self._view_node(node, kind, where)
        if kind in ("tensor", "parameter", "ndarray", "numpy_scalar"):
            return self._array_node(node, kind, where)
        raise _CorruptCheckpoint(f"{where}: unknown entry type {_short(kind)}")

    @staticmethod
    def _items(node: dict, where: str) -> list:
        items = node.get("items")
        if type(items) is not list:
            raise _CorruptCheckpoint(f"{where}: a {node[_TYPE]} without a list of items")
        return items

    def _checked_array(self, node: dict, kind: str, use: str, where: str) -> np.ndarray:
        """The file's array that ``node`` names, checked against the node, writable. ``use``
        is "view" for a flat array that views share, "array" for an array stored whole."""
        name = node.get("name")
        if not isinstance(name, str) or name not in self.arrays:
            raise _CorruptCheckpoint(f"{where}: the {kind} named {_short(name)} is missing "
                                     f"from the file")
        array = self.arrays[name]
        dtype_name = node.get("dtype")
        if dtype_name != array.dtype.name:
            raise _CorruptCheckpoint(f"{where}: the description says dtype {_short(dtype_name)}"
                                     f" but the file stores {array.dtype.name}")
        if use == "array" and node.get("shape") != list(array.shape):
            raise _CorruptCheckpoint(f"{where}: the description says shape "
                                     f"{_short(node.get('shape'))} but the file stores "
                                     f"{list(array.shape)}")
        if use == "view" and array.ndim != 1:
            raise _CorruptCheckpoint(f"{where}: the array named {name!r}, which views share, "
                                     f"must be flat but has shape {list(array.shape)}")
        if name not in self.checked:  # each array's digest is computed once
            self.checked[name] = (use, _digest(array),
                                  array if array.flags.writeable else array.copy())
        first_use, digest, array = self.checked[name]
        if first_use != use:
            raise _CorruptCheckpoint(f"{where}: the array named {name!r} is described twice, "
                                     f"differently")
        if node.get("sha256") != digest:
            raise _CorruptCheckpoint(f"{where}: the data of the array named {name!r} does not "
                                     f"match its SHA-256 digest (the file is damaged)")
        return array

    def _array_node(self, node: dict, kind: str, where: str) -> Any:
        array = self._checked_array(node, kind, "array", where)
        name = node["name"]
        if name in self.built:
            first_node, built = self.built[name]
            if first_node != node:
                raise _CorruptCheckpoint(f"{where}: the array named {name!r} is described "
                                         f"twice, differently")
            return built
        if kind == "ndarray":
            built = array
        elif kind == "numpy_scalar":
            if array.ndim != 0:
                raise _CorruptCheckpoint(f"{where}: a NumPy scalar must have shape []")
            built = array[()]
        else:
            built = self._tensor(node, kind, array, where)
        self.built[name] = (node, built)
        return built

    def _view_node(self, node: dict, kind: str, where: str) -> Tensor:
        """A tensor that views a flat array shared with other tensors of the file."""
        flat = self._checked_array(node, kind, "view", where)
        number = node.get("object")
        if type(number) is not int:
            raise _CorruptCheckpoint(f"{where}: a view without an object number")
        if ("view", number) in self.built:
            first_node, built = self.built["view", number]
            if first_node != node:
                raise _CorruptCheckpoint(f"{where}: view {number} is described twice, "
                                         f"differently")
            return built
        shape, strides, offset = node.get("shape"), node.get("stride"), node.get("offset")
        if not (_ints(shape) and all(n > 0 for n in shape) and _ints(strides)
                and len(strides) == len(shape) and type(offset) is int):
            raise _CorruptCheckpoint(f"{where}: bad view layout: shape {_short(shape)}, "
                                     f"stride {_short(strides)}, offset {_short(offset)}")
        first = offset + sum(s * (n - 1) for s, n in zip(strides, shape) if s < 0)
        last = offset + sum(s * (n - 1) for s, n in zip(strides, shape) if s > 0)
        if first < 0 or last >= len(flat) or _overlaps(shape, strides):
            raise _CorruptCheckpoint(f"{where}: the view (shape {shape}, stride {strides}, "
                                     f"offset {offset}) does not fit its array of "
                                     f"{len(flat)} elements without overlapping")
        array = np.ndarray(shape, flat.dtype, buffer=flat, offset=offset * flat.itemsize,
                           strides=[s * flat.itemsize for s in strides])
        built = self._tensor(node, kind, array, where)
        self.built["view", number] = (node, built)
        return built

    @staticmethod
    def _tensor(node: dict, kind: str, array: np.ndarray, where: str) -> Tensor:
        if array.dtype not in _TENSOR_DTYPES:
            raise _CorruptCheckpoint(f"{where}: a tensor cannot have dtype {array.dtype}")
        requires_grad = node.get("requires_grad")
        if type(requires_grad) is not bool or (
                requires_grad and not _dtype.is_floating_point(array.dtype)):
            raise _CorruptCheckpoint(f"{where}: bad requires_grad {_short(requires_grad)} for "
                                     f"a {array.dtype} tensor")
        tensor = _wrap(array, False)
        if kind == "tensor":
            tensor.requires_grad = requires_grad
            return tensor
        parameter = _parameter_class()
        if parameter is None:
            raise _CorruptCheckpoint(f"{where}: the file holds an nn.Parameter but leafgrad.nn "
                                     f"has no Parameter class")
        return parameter(tensor, requires_grad=requires_grad)


def _ints(values: Any) -> bool:
    return type(values) is list and all(type(value) is int for value in values)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _decode(data: bytes) -> Any:
    metadata = _read_metadata(data)
    structure = metadata[_STRUCTURE_KEY]
    if not isinstance(structure, str) or metadata.get(_DIGEST_KEY) != hashlib.sha256(
            structure.encode()).hexdigest():
        raise _CorruptCheckpoint("the leafgrad description does not match its SHA-256 digest "
                                 "(the metadata was damaged or edited)")
    try:
        description = json.loads(structure)
    except ValueError as error:
        raise _CorruptCheckpoint(f"the leafgrad description is not valid JSON ({error})") \
            from None
    except RecursionError:
        raise _CorruptCheckpoint("the leafgrad description is nested too deeply to parse") \
            from None
    if not isinstance(description, dict) or description.get("format") != _FORMAT:
        raise _CorruptCheckpoint("the leafgrad description has no format marker")
    if description.get("version") not in _READABLE_VERSIONS:
        raise _CorruptCheckpoint(f"checkpoint format version {_short(description.get('version'))}"
                                 f" is not one this leafgrad reads (it reads "
                                 f"{', '.join(map(str, _READABLE_VERSIONS))})")
    if "root" not in description:
        raise _CorruptCheckpoint("the leafgrad description has no root object")
    safetensors_numpy = _safetensors_numpy()
    try:
        arrays = safetensors_numpy.load(data)
    except Exception as error:  # safetensors raises its own SafetensorError (an Exception)
        raise _CorruptCheckpoint(f"safetensors cannot read it ({error})") from None
    decoder = _Decoder(arrays)
    try:
        obj = decoder.decode(description["root"], "obj")
    except RecursionError:
        raise _CorruptCheckpoint(f"its containers are nested too deeply to load (Python's "
                                 f"recursion limit is {sys.getrecursionlimit()})") from None
    unused = sorted(set(arrays) - set(decoder.checked))
    if unused:
        raise _CorruptCheckpoint(f"it holds arrays the description never uses: {unused[:5]}")
    return obj


def _check_map_location(map_location: Any) -> None:
    """leafgrad keeps tensors on the CPU: accept any spelling of it, refuse other devices."""
    if map_location is None:
        return
    if isinstance(map_location, dict):
        for target in map_location.values():
            get_device(target)
        return
    if callable(map_location):
        raise TypeError("leafgrad.load: a callable map_location is not supported (every tensor "
                        "loads on the CPU); pass None or 'cpu'")
    get_device(map_location)


def load(f: str | os.PathLike | BinaryIO, map_location: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None) -> Any:
    """Load an object saved with :func:`save` from a path or a binary file object.

    No code runs while loading, whatever the file holds (``weights_only`` is accepted and
    always in effect; ``mmap`` is accepted and ignored: the file is read into memory). A
    truncated, corrupted or edited file raises a ``RuntimeError`` that names it and says what
    is wrong. ``map_location`` may name the CPU only.

    Example::

        >>> state = leafgrad.load("checkpoint.safetensors", map_location="cpu")
    """
    _check_map_location(map_location)
    if hasattr(f, "read"):
        data, name = f.read(), getattr(f, "name", repr(f))
    else:
        name = os.fspath(f)
        with open(name, "rb") as file:
            data = file.read()
    try:
        return _decode(data)
    except _CorruptCheckpoint as error:
        raise RuntimeError(f"leafgrad.load: {name} is not a readable leafgrad checkpoint: "
                           f"{error}") from None
