"""Differentiable ops by family; importing this package binds them as Tensor methods."""
from leafgrad._tensor import Tensor
from leafgrad.ops import elementwise, indexing, linalg, reduction, shape

for _module in (elementwise, shape, reduction, indexing, linalg):
    for _name, _method in _module.TENSOR_METHODS.items():
        setattr(Tensor, _name, _method)
