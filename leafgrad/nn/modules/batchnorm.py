"""Batch normalisation layers: BatchNorm1d and BatchNorm2d, with learnable per-channel scale
and shift and running statistics for evaluation."""
from __future__ import annotations

from leafgrad import _dtype
from leafgrad._factories import empty, ones, tensor, zeros
from leafgrad._tensor import Tensor
from leafgrad.nn import functional as F
from leafgrad.nn import init
from leafgrad.nn.module import Module
from leafgrad.nn.parameter import Parameter
from leafgrad.ops._checks import expect_tensor

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _NormBase(Module):
    """The parameters and buffers of the batch norms.

    ``weight`` (ones) and ``bias`` (zeros) when ``affine``; the buffers ``running_mean``
    (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (an int64 count) when
    ``track_running_stats``, else these names are registered as None.
    """

    # version 2 added num_batches_tracked: older state_dicts load without it
    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = Parameter(empty(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked",
                                 tensor(0, dtype=_dtype.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch tracked."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics, weight to ones and bias to zeros."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            # a state_dict from before num_batches_tracked existed keeps the current count
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                                   else tensor(0, dtype=_dtype.int64))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class _BatchNorm(_NormBase):
    def forward(self, input: Tensor) -> Tensor:
        expect_tensor(input, type(self).__name__)
        self._check_input_dim(input)
        exponential_average_factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average of all batches seen
                exponential_average_factor = 1.0 / float(self.num_batches_tracked)
        # batch statistics in training, and in evaluation when there are no running ones
        if self.training:
            bn_training = True
        else:
            bn_training = self.running_mean is None and self.running_var is None
        # the running statistics are passed where they are updated (training, tracked) or read
        # (evaluation)
        use_buffers = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if use_buffers else None,
                            self.running_var if use_buffers else None, self.weight, self.bias,
                            bn_training, exponential_average_factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    Training normalises with the batch's mean and (biased) variance and updates
    ``running = (1 - momentum) * running + momentum * batch`` (the unbiased variance for
    ``running_var``; ``momentum=None`` gives the cumulative average); evaluation normalises with
    the running statistics (or the batch's when ``track_running_stats=False``).

    Example::

        >>> bn = leafgrad.nn.BatchNorm1d(3)
        >>> bn(leafgrad.randn(8, 3)).shape, int(bn.num_batches_tracked)
        (torch.Size([8, 3]), 1)
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 2 and input.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C (see :class:`BatchNorm1d`).

    Example::

        >>> leafgrad.nn.BatchNorm2d(6)(leafgrad.randn(4, 6, 5, 5)).shape
        torch.Size([4, 6, 5, 5])
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")
