"""Differentiable ops by family. Importing this package imports every family module found
here (no list to keep up to date) and binds their ``TENSOR_METHODS`` as Tensor methods."""
import importlib
import pkgutil

from leafgrad._tensor import LAYERS, Tensor

FAMILIES = {}  # family name -> module, for every public module of ops in this package
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if not _info.name.startswith("_"):
        FAMILIES[_info.name] = importlib.import_module(f"{__name__}.{_info.name}")
for _module in FAMILIES.values():
    for _name, _method in getattr(_module, "TENSOR_METHODS", {}).items():
        setattr(Tensor, _name, _method)

LAYERS.cast = FAMILIES["elementwise"].cast
