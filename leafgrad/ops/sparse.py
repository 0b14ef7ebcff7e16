"""Lookups and random masks: embedding, one_hot, dropout, dropout2d.

The embedding gradient sums each output row's gradient into the row of ``weight`` it was read
from (none into ``padding_idx``); that scatter and the lookup are each other's backward, so
double backward works. Dropout masks come from leafgrad's default generator, so
``leafgrad.manual_seed`` makes them repeatable.
"""
from __future__ import annotations

import warnings

from leafgrad._backend import xp
from leafgrad._dtype import is_floating_point
from leafgrad._factories import _rng
from leafgrad._tensor import Tensor
from leafgrad.autograd.function import Op
from leafgrad.ops._checks import ArgumentAssertionError, expect_tensor
from leafgrad.ops._nn_utils import scalar_type

__all__ = ["embedding", "one_hot", "dropout", "dropout2d"]


# -- embedding -------------------------------------------------------------------------------
class Embedding(Op):
    """weight: each grad row summed into the row it was read from, times its coefficient
    (0 for padding_idx; 1 / count with scale_grad_by_freq)"""

    linear = True  # in weight; the indices and coefficients are constants

    @staticmethod
    def forward(ctx, weight, indices, coefficients, scale_rows):
        ctx.indices, ctx.coefficients, ctx.num_weights = indices, coefficients, weight.shape[0]
        rows = xp.take(weight, indices, axis=0)
        if scale_rows:  # the adjoint of EmbeddingDenseBackward: the coefficients apply here too
            rows *= xp.expand_dims(coefficients, -1)
        return rows

    @staticmethod
    def backward(ctx, grad):
        return EmbeddingDenseBackward.apply(grad, indices=ctx.indices,
                                            coefficients=ctx.coefficients,
                                            num_weights=ctx.num_weights)


class EmbeddingDenseBackward(Op):
    """grad_output: grad looked up at the indices, times their coefficients"""

    linear = True

    @staticmethod
    def forward(ctx, grad, indices, coefficients, num_weights):
        ctx.indices, ctx.coefficients = indices, coefficients
        width = grad.shape[-1]
        out = xp.zeros((num_weights, width), dtype=grad.dtype, like=grad)
        rows = grad.reshape(indices.size, width) * coefficients.reshape(indices.size, 1)
        xp.add.at(out, indices.reshape(-1), rows)  # an index may repeat: accumulate
        return out

    @staticmethod
    def backward(ctx, grad):
        return Embedding.apply(grad, indices=ctx.indices, coefficients=ctx.coefficients,
                               scale_rows=True)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) at the integer ``input`` indices: the result has
    shape ``input.shape + (dim,)``. ``padding_idx``'s row gets no gradient; ``max_norm``
    renormalises the looked-up rows of ``weight`` in place, as torch.

    Example::

        embedding(tensor([[0, 2]]), eye(3))  # [[[1., 0., 0.], [0., 0., 1.]]]
    """
    expect_tensor(input, "embedding")
    expect_tensor(weight, "embedding", "weight", 2)
    if input._data.dtype not in (xp.int64, xp.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.type()} instead "
                           f"(while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D (got weight of size {list(weight.shape)})")
    if sparse:
        raise NotImplementedError("embedding(sparse=True): leafgrad has no sparse gradients; "
                                  "use sparse=False")
    num_weights = weight.shape[0]
    if padding_idx is not None:
        if not -num_weights <= padding_idx < num_weights:
            raise ArgumentAssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num_weights
    indices = input._data.astype(xp.int64, copy=False)
    if indices.size and (indices.min() < 0 or indices.max() >= num_weights):
        raise IndexError(f"index out of range in self (indices must be in [0, {num_weights}) "
                         f"for a weight of size {list(weight.shape)})")
    if max_norm is not None:
        _renormalize_rows(weight, indices, max_norm, norm_type)
    coefficients = xp.ones(indices.shape, dtype=weight._data.dtype, like=weight._data)
    if scale_grad_by_freq:
        counts = xp.bincount(indices.reshape(-1), minlength=num_weights)
        coefficients = coefficients / counts[indices]
    if padding_idx is not None:
        coefficients = xp.where(indices == padding_idx, 0, coefficients)
    return Embedding.apply(weight, indices=indices, coefficients=coefficients.astype(
        weight._data.dtype), scale_rows=False)


def _renormalize_rows(weight: Tensor, indices: xp.ndarray, max_norm: float,
                      norm_type: float) -> None:
    """torch's embedding_renorm_: looked-up rows with a norm above max_norm are scaled down to
    it, in place and without recording (the 1e-7 keeps the new norm just below max_norm)."""
    rows = xp.unique(indices)
    norms = xp.linalg.norm(weight._data[rows], ord=norm_type, axis=1)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight._data[rows] *= scale[:, None].astype(weight._data.dtype)
    weight._version_counter[0] += 1


class OneHot(Op):
    """not differentiable: int64 one-hot vectors, ``shape + (num_classes,)``"""

    differentiable = False

    @staticmethod
    def forward(ctx, values, num_classes):
        return (values[..., None] == xp.arange(num_classes, like=values)).astype(xp.int64)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot vectors: ``tensor.shape + (num_classes,)``, a 1 at each value;
    ``num_classes=-1`` uses ``max + 1``.

    Example::

        one_hot(tensor([0, 2]))  # [[1, 0, 0], [0, 0, 1]]
    """
    expect_tensor(tensor, "one_hot", "tensor")
    if tensor._data.dtype != xp.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    values = tensor._data
    if num_classes == -1:
        if values.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(values.max()) + 1
    if values.size and values.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if values.size and values.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return OneHot.apply(tensor, num_classes=num_classes)


# -- dropout ---------------------------------------------------------------------------------
def _check_probability(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


class DropoutMask(Op):
    """not differentiable: a mask of ``shape`` (which broadcasts against self) in self's dtype,
    0 with probability p and 1 / (1 - p) elsewhere, drawn from leafgrad's default generator"""

    differentiable = False

    @staticmethod
    def forward(ctx, a, p, shape):
        # drawn on the host by the generator, then placed with self
        draws = xp.asarray(_rng(None).random(shape, dtype=xp.float32), like=a)
        scale = a.dtype.type(0.0 if p == 1 else 1.0 / (1.0 - p))
        return (draws < 1.0 - p).astype(a.dtype) * scale


def _masked(input: Tensor, p: float, mask_shape: tuple, inplace: bool) -> Tensor:
    """``input`` times a mask of zeros (probability p) and 1 / (1 - p), broadcast from
    ``mask_shape``; the product is recorded as a plain multiplication, as torch does on CPU."""
    if not is_floating_point(input._data.dtype):
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{scalar_type(input)} (dropout needs a floating point input)")
    mask = DropoutMask.apply(input, p=p, shape=mask_shape)
    return input.mul_(mask) if inplace else input * mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``, in
    training; otherwise (or with p = 0) return ``input`` itself. Masks come from leafgrad's
    default generator (seed it with ``leafgrad.manual_seed``).

    Example::

        dropout(ones(4), p=0.5)  # e.g. tensor([2., 0., 2., 2.])
    """
    expect_tensor(input, "dropout")
    _check_probability(p)
    if not training or p == 0:
        return input
    return _masked(input, p, input._data.shape, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels: each (sample, channel) plane of ``input`` (N, C, H, W) is dropped
    with probability ``p``, the others scaled by ``1 / (1 - p)``. As torch, a 3-D input is read
    as (N, C, L) (with a warning).

    Example::

        dropout2d(ones(1, 4, 2, 2), p=0.5)  # each 2x2 plane all 0 or all 2
    """
    expect_tensor(input, "dropout2d")
    _check_probability(p)
    ndim = input.ndim
    if ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated "
                      f"and will result in an error in a future release. To retain the behavior "
                      f"and silence this warning, please use dropout instead. Note that "
                      f"dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. 3D or 4D inputs).", UserWarning, stacklevel=2)
    if ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change in "
                      "a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", UserWarning,
                      stacklevel=2)
    if not training or p == 0:
        return input
    if ndim < 2:
        raise RuntimeError(f"Feature dropout requires at least 2 dimensions in the input (got "
                           f"input of size {list(input.shape)})")
    return _masked(input, p, tuple(input.shape[:2]) + (1,) * (ndim - 2), inplace)
