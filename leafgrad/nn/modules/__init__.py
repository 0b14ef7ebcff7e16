"""The layers of ``leafgrad.nn``, one file per family (as ``torch.nn.modules``)."""
from leafgrad.nn.module import Module
from leafgrad.nn.modules.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from leafgrad.nn.modules.container import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from leafgrad.nn.modules.flatten import Flatten, Unflatten
from leafgrad.nn.modules.linear import Bilinear, Identity, Linear

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "Identity", "Linear", "Bilinear", "Flatten", "Unflatten", "ReLU", "LeakyReLU", "ELU",
           "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softplus", "Hardtanh",
           "ReLU6", "PReLU"]
