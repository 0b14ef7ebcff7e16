"""Stateless neural-network functions, as ``torch.nn.functional``."""
from leafgrad.ops.elementwise import (
                                      elu,
                                      gelu,
                                      hardtanh,
                                      leaky_relu,
                                      logit,
                                      mish,
                                      relu,
                                      relu6,
                                      selu,
                                      sigmoid,
                                      silu,
                                      softplus,
                                      tanh,
)
from leafgrad.ops.reduction import log_softmax, softmax
from leafgrad.ops.shape import pad

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "mish",
           "hardtanh", "sigmoid", "tanh", "logit", "pad",
           "softmax", "log_softmax"]
from leafgrad.nn._functional_linear import bilinear, linear, prelu  # noqa: E402,F401
from leafgrad.ops.conv import conv1d, conv2d, conv_transpose2d  # noqa: E402
from leafgrad.ops.loss import (  # noqa: E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from leafgrad.ops.normalization import batch_norm, group_norm, layer_norm  # noqa: E402
from leafgrad.ops.pooling import (  # noqa: E402
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    interpolate,
    max_pool1d,
    max_pool2d,
)
from leafgrad.ops.sparse import dropout, dropout2d, embedding, one_hot  # noqa: E402

__all__ += ["conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool2d",
            "adaptive_avg_pool2d", "adaptive_max_pool2d", "interpolate", "batch_norm",
            "layer_norm", "group_norm", "dropout", "dropout2d", "embedding", "one_hot",
            "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
            "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]
from leafgrad.nn._functional_attention import *  # noqa: E402,F401,F403 - attention functions
