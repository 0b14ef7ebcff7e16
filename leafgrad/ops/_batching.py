"""Batching rules for vmap: how an op runs on inputs that carry an extra batch dimension.

An op says how it batches with ``Op.batch_rule``: a callable ``batch_rule(inputs, batch_dims,
**kwargs) -> (output, output_batch_dim)``, or the string ``"elementwise"`` for the rule shared
by broadcasting elementwise ops (:func:`elementwise_batch_rule`). :func:`apply_batch_rule` is
the one place that resolves the two.

Example::

    >>> x = leafgrad.randn(3, 5)              # 5 samples of a logical shape (3,), batch dim 1
    >>> y = leafgrad.randn(4, 1)              # unbatched, logical shape (4, 1)
    >>> out, dim = apply_batch_rule(Mul, (x, y), (1, None))
    >>> tuple(out.shape), dim                 # 5 results of shape (4, 3)
    ((5, 4, 3), 0)
"""
from __future__ import annotations

from leafgrad._backend import is_array
from leafgrad._tensor import Tensor

__all__ = ["apply_batch_rule", "elementwise_batch_rule"]


def apply_batch_rule(op_class, inputs, batch_dims, **kwargs) -> tuple:
    """Run ``op_class`` on batched ``inputs`` (Tensors or numbers; ``batch_dims[i]`` is the batch
    dimension of ``inputs[i]``, None where it has none) through its batching rule.

    Returns ``(output, output_batch_dim)``. Raises NotImplementedError naming the op when it
    has no rule.
    """
    rule = op_class.batch_rule
    if rule is None:
        raise NotImplementedError(
            f"vmap: the op {op_class.__name__} has no batching rule: give it a batch_rule "
            f"(\"elementwise\" for a broadcasting elementwise op), or call it outside vmap")
    if rule == "elementwise":
        return elementwise_batch_rule(op_class, inputs, batch_dims, **kwargs)
    return rule(inputs, batch_dims, **kwargs)


def elementwise_batch_rule(op_class, inputs, batch_dims, **kwargs) -> tuple:
    """The batching rule of broadcasting elementwise ops.

    Each batched input gets its batch dimension first and ones after it, so that its logical
    shape keeps broadcasting with the others': of logical rank r among operands of largest
    logical rank R, it becomes ``(B, 1, ..., 1, *shape)`` with R - r ones. Unbatched inputs and
    numbers stay as they are (broadcasting aligns them from the right); array keyword arguments
    (``Where``'s condition, ``MulConstant``'s factor) are never batched but count towards R. The
    result has its batch dimension first.
    """
    if len(batch_dims) != len(inputs):
        raise ValueError(f"vmap: {op_class.__name__} got {len(inputs)} inputs but "
                         f"{len(batch_dims)} batch dims")
    if all(dim is None for dim in batch_dims):
        return op_class.apply(*inputs, **kwargs), None
    ranks = [_logical_rank(x, dim) for x, dim in zip(inputs, batch_dims)]
    ranks += [value.ndim for value in kwargs.values() if is_array(value)]
    rank = max(ranks)
    moved = []
    for x, dim in zip(inputs, batch_dims):
        if dim is not None:
            x = x.movedim(dim, 0)
            shape = x.shape
            x = x.reshape(shape[:1] + (1,) * (rank + 1 - len(shape)) + shape[1:])
        moved.append(x)
    return op_class.apply(*moved, **kwargs), 0


def _logical_rank(x, batch_dim) -> int:
    """The rank an input has inside vmap (without its batch dimension)."""
    if not isinstance(x, Tensor):
        if batch_dim is not None:
            raise ValueError(f"vmap: a batch dim ({batch_dim}) was given for a "
                             f"{type(x).__name__}, which has no dimensions")
        return 0
    return x.ndim - (batch_dim is not None)
