"""CIFAR-10 read from the official "python version" batches, without running pickle code.

The batches are Python 2 pickles of dicts ``{b'data': uint8 array N x 3072, b'labels': [...],
b'batch_label': ..., b'filenames': [...]}``. Unpickling normally imports and calls whatever the
file names, so a tampered file could run any code. :class:`RestrictedUnpickler` refuses every
global except the few names a pickled NumPy array (and Python 3's way of writing bytes) uses,
and maps those to inert stand-ins written here: nothing from NumPy's or Python's own
reconstruction machinery is ever called.
"""
from __future__ import annotations

import io
import os
import pickle
from typing import Any, Callable

import numpy as np

from leafgrad._backend import is_array
from leafgrad.datasets.vision import VisionDataset

__all__ = ["CIFAR10", "RestrictedUnpickler", "restricted_loads"]

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
BASE_FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]
META_FILE = "batches.meta"

# the element types a CIFAR batch may hold; anything else is refused
_ALLOWED_DTYPES = frozenset({"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8",
                             "b1"})


class _DtypeStub:
    """Stands for ``numpy.dtype(code, align, copy)``; ``__setstate__`` reads the byte order."""

    def __init__(self, code, align=False, copy=True) -> None:
        code = code.decode("ascii") if isinstance(code, bytes) else code
        if not isinstance(code, str) or code not in _ALLOWED_DTYPES:
            raise pickle.UnpicklingError(f"refusing NumPy dtype {code!r}: only plain numeric "
                                         f"dtypes are accepted")
        self.dtype = np.dtype(code)

    def __setstate__(self, state) -> None:
        order = state[1] if isinstance(state, tuple) and len(state) > 1 else "|"
        order = order.decode("ascii") if isinstance(order, bytes) else order
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"bad byte order {order!r} in a NumPy dtype")
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)


class _ArrayStub:
    """Stands for ``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')``; the pickle's
    BUILD step hands ``__setstate__`` the shape, dtype and raw bytes, from which the array is
    read with ``numpy.frombuffer``."""

    array: np.ndarray | None = None

    def __setstate__(self, state) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed NumPy array state")
        shape, dtype, fortran_order, raw = state[-4:]
        if not isinstance(dtype, _DtypeStub):
            raise pickle.UnpicklingError("malformed NumPy array state: no dtype")
        if isinstance(raw, str):  # a Python 2 str read with encoding='latin1'
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)) or not isinstance(shape, tuple) or not all(
                isinstance(n, int) and n >= 0 for n in shape):
            raise pickle.UnpicklingError("malformed NumPy array state")
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.dtype.itemsize != len(raw):
            raise pickle.UnpicklingError(f"NumPy array of shape {shape} and dtype "
                                         f"{dtype.dtype} holds {len(raw)} bytes, expected "
                                         f"{count * dtype.dtype.itemsize}")
        array = np.frombuffer(raw, dtype=dtype.dtype).reshape(shape, order="F" if fortran_order
                                                               else "C")
        self.array = array.astype(array.dtype.newbyteorder("="))  # native order, writable


class _NdarrayMarker:
    """Stands for the ``numpy.ndarray`` class that ``_reconstruct`` is given."""


def _reconstruct(cls, shape, typecode) -> _ArrayStub:
    if cls is not _NdarrayMarker:
        raise pickle.UnpicklingError("_reconstruct is accepted for numpy.ndarray only")
    return _ArrayStub()


def _codecs_encode(text, encoding) -> bytes:
    # how Python 3 writes bytes into a protocol 2 pickle: _codecs.encode(text, 'latin1')
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is accepted with 'latin1' only")
    return text.encode("latin1")


_STAND_INS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NdarrayMarker,
    ("numpy", "dtype"): _DtypeStub,
    ("_codecs", "encode"): _codecs_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that imports nothing: NumPy arrays, bytes, strings, numbers, lists, tuples
    and dicts come back; any other global a pickle names raises ``UnpicklingError``."""

    def find_class(self, module: str, name: str) -> Any:
        stand_in = _STAND_INS.get((module, name))
        if stand_in is None:
            raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}': this "
                                         f"unpickler never imports or calls code from a file")
        return stand_in

    def persistent_load(self, pid) -> Any:
        raise pickle.UnpicklingError("refusing a persistent id: not part of the CIFAR format")


def _materialize(obj: Any) -> Any:
    """Replace the array stand-ins in ``obj`` by their arrays."""
    if isinstance(obj, _ArrayStub):
        if obj.array is None:
            raise pickle.UnpicklingError("a NumPy array was never given its data")
        return obj.array
    if isinstance(obj, (_DtypeStub, _NdarrayMarker)) or obj is _NdarrayMarker:
        raise pickle.UnpicklingError("a bare NumPy dtype or class is not part of the format")
    if isinstance(obj, dict):
        return {key: _materialize(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_materialize(value) for value in obj]
    if isinstance(obj, tuple):
        return tuple(_materialize(value) for value in obj)
    return obj


def restricted_loads(data: bytes) -> Any:
    """Unpickle ``data`` (Python 2 strings read as bytes) without executing any code."""
    return _materialize(RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load())


def _read_batch(path: str) -> dict:
    with open(path, "rb") as file:
        data = file.read()
    try:
        batch = restricted_loads(data)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as error:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: {error}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR-10 python batch: it holds a "
                         f"{type(batch).__name__}, not a dict")
    return batch


class CIFAR10(VisionDataset):
    """CIFAR-10 from the official "python version" batches in ``root/cifar-10-batches-py``
    (``root`` may also be that folder itself); nothing is downloaded.

    Each sample is ``(image, label)``: a 32x32x3 uint8 NumPy array (height, width, channel,
    as torchvision's PIL images; ``transforms.ToTensor()`` makes it a 3x32x32 float tensor)
    and an int in 0..9, named by ``classes``.

    Example::

        >>> train = CIFAR10("data", train=True, transform=transforms.ToTensor())
        >>> image, label = train[0]
        >>> image.shape, train.classes[label]
        (torch.Size([3, 32, 32]), 'frog')
    """

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        folder = self._find_folder(download)
        images, targets = [], []
        for name in TRAIN_FILES if train else TEST_FILES:
            path = os.path.join(folder, name)
            batch = _read_batch(path)
            data, labels = batch.get(b"data"), batch.get(b"labels")
            if not is_array(data) or data.dtype != np.uint8 or data.ndim != 2 \
                    or data.shape[1] != 3072:
                raise ValueError(f"{path}: b'data' must be a uint8 array of shape (N, 3072)")
            if not isinstance(labels, list) or len(labels) != len(data) or not all(
                    isinstance(label, int) and 0 <= label < 10 for label in labels):
                raise ValueError(f"{path}: b'labels' must be a list of {len(data)} ints in "
                                 f"0..9")
            images.append(data)
            targets.extend(labels)
        # rows are 1024 red, 1024 green, 1024 blue values: to N x 32 x 32 x 3 as torchvision
        self.data = np.ascontiguousarray(
            np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self.targets = targets
        self.classes = self._read_classes(folder)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def _find_folder(self, download: bool) -> str:
        needed = (TRAIN_FILES if self.train else TEST_FILES) + [META_FILE]
        candidates = [os.path.join(self.root, BASE_FOLDER), self.root]
        for folder in candidates:
            if all(os.path.isfile(os.path.join(folder, name)) for name in needed):
                return folder
        missing = [name for name in needed
                   if not os.path.isfile(os.path.join(candidates[0], name))]
        hint = " (leafgrad never downloads: fetch it yourself)" if download else ""
        raise FileNotFoundError(
            f"CIFAR-10 not found in {candidates[0]} (missing {', '.join(missing)}){hint}. "
            f"Download the python version from {URL} and extract it into {self.root}, which "
            f"creates {candidates[0]}: mkdir -p {self.root} && curl -L {URL} | tar xz -C "
            f"{self.root}")

    @staticmethod
    def _read_classes(folder: str) -> list[str]:
        path = os.path.join(folder, META_FILE)
        names = _read_batch(path).get(b"label_names")
        if not isinstance(names, list) or len(names) != 10 or not all(
                isinstance(name, bytes) for name in names):
            raise ValueError(f"{path}: b'label_names' must be a list of 10 names")
        return [name.decode("utf-8") for name in names]

    def _sample(self, index: int) -> tuple[np.ndarray, int]:
        return self.data[index].copy(), self.targets[index]

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"
