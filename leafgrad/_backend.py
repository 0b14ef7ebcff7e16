"""The per-device array module: every array operation in ``leafgrad/ops`` goes through ``xp``.

Only NumPy (``cpu``) is installed now. Ops call ``xp.<function>`` on the arrays they are given;
a CuPy device registers its module in ``_MODULES``, and ``xp`` calls on CuPy arrays dispatch to
it through NumPy's ``__array_function__``/``__array_ufunc__`` protocols, which CuPy implements,
so the derivative rules stay as they are. The one thing such a backend must add is a ``like=``
argument where an op creates an array from a shape alone (``xp.zeros(shape, ...)``).
"""
from __future__ import annotations

import numpy

__all__ = ["device", "array_module", "get_device"]


class device:
    """A device, spelled as in torch: ``device('cpu')``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | device = "cpu", index: int | None = None) -> None:
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string or a device, got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if idx:
            index = int(idx)
        if kind not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps, meta device type at start of "
                               f"device string: {spec}")
        self.type = kind
        self.index = index

    def __eq__(self, other) -> bool:
        # as torch, a device never equals a string: compare with device('cpu') or .type
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")
_MODULES = {"cpu": numpy}


def get_device(spec) -> device:
    """Check that ``spec`` names an installed device and return it."""
    if spec is None:
        return CPU
    dev = spec if isinstance(spec, device) else device(spec)
    if dev.type not in _MODULES:
        raise RuntimeError(
            f"device '{dev}' is not available: leafgrad has no {dev.type} array backend installed "
            "(only 'cpu' is). Keep tensors on the CPU or install a GPU backend."
        )
    return CPU if dev.type == "cpu" else dev


def array_module(dev: device = CPU):
    """The NumPy-like module that holds arrays for ``dev``."""
    return _MODULES[dev.type]


xp = numpy  # the array module the ops call (see the module docstring)
