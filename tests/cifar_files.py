"""CIFAR-10 files in the official python format, built in the tests (the data set itself is
never downloaded): batches pickled as Python 2 wrote them. Used by ``datasets/test_datasets.py``
and ``test_train.py``."""
from __future__ import annotations

import io
import pickle
import struct

import numpy as np


class Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (SHORT_BINSTRING/BINSTRING) and names NumPy's array
    reconstructor as NumPy 1 did, which is what the official CIFAR-10 batches contain."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def python2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


LABEL_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog",
               b"horse", b"ship", b"truck"]


def make_batch(index: int, count: int) -> dict:
    rng = np.random.default_rng(index)
    return {b"batch_label": b"training batch %d of 5" % index,
            b"labels": [int(label) for label in rng.integers(0, 10, count)],
            b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            b"filenames": [b"image_%d_%d.png" % (index, i) for i in range(count)]}
