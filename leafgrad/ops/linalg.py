"""Matrix products: matmul, mm, bmm, dot, outer, einsum, tensordot."""
from __future__ import annotations

TENSOR_METHODS: dict = {}
