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

from leafgrad.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d  # noqa: E402
from leafgrad.nn.modules.conv import Conv1d, Conv2d, ConvTranspose2d  # noqa: E402
from leafgrad.nn.modules.dropout import Dropout, Dropout2d  # noqa: E402
from leafgrad.nn.modules.loss import (  # noqa: E402
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from leafgrad.nn.modules.normalization import GroupNorm, LayerNorm  # noqa: E402
from leafgrad.nn.modules.pooling import (  # noqa: E402
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from leafgrad.nn.modules.sparse import Embedding  # noqa: E402
from leafgrad.nn.modules.upsampling import (  # noqa: E402
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)

__all__ += ["Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool2d",
            "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
            "GroupNorm", "Dropout", "Dropout2d", "Embedding", "Upsample", "UpsamplingNearest2d",
            "UpsamplingBilinear2d", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
            "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]

from leafgrad.nn.modules.attention import MultiheadAttention  # noqa: E402
from leafgrad.nn.modules.rnn import (  # noqa: E402
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    RNNBase,
    RNNCell,
    RNNCellBase,
)

__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
            "MultiheadAttention"]
