"""Stateless neural-network functions, as ``torch.nn.functional``: the modules in
``leafgrad.nn`` hold parameters and call these."""
from leafgrad.nn._functional_activation import (
    elu,
    elu_,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    mish,
    relu,
    relu6,
    relu_,
    selu,
    selu_,
    silu,
)
from leafgrad.nn._functional_attention import (
    multi_head_attention_forward,
    scaled_dot_product_attention,
)
from leafgrad.nn._functional_linear import bilinear, linear, prelu
from leafgrad.ops.conv import conv1d, conv2d, conv_transpose2d
from leafgrad.ops.elementwise import gelu, logit, sigmoid, softplus, tanh
from leafgrad.ops.loss import (
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
from leafgrad.ops.normalization import batch_norm, group_norm, layer_norm
from leafgrad.ops.pooling import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    interpolate,
    max_pool1d,
    max_pool2d,
)
from leafgrad.ops.reduction import log_softmax, softmax
from leafgrad.ops.shape import pad
from leafgrad.ops.sparse import dropout, dropout2d, embedding, one_hot

__all__ = [
    # activations (the ones ending in _ work in place)
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_",
    "gelu", "silu", "softplus", "mish", "hardtanh", "hardtanh_", "sigmoid", "tanh", "logit",
    "prelu", "softmax", "log_softmax",
    # layers
    "linear", "bilinear", "conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d",
    "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "interpolate", "pad",
    "batch_norm", "layer_norm", "group_norm", "dropout", "dropout2d", "embedding", "one_hot",
    "scaled_dot_product_attention", "multi_head_attention_forward",
    # losses
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]
