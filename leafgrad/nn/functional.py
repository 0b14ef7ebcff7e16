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
